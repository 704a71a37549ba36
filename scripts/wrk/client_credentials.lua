-- client_credentials grants for photoz (photoz:photoz-secret), each a new PAT.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic cGhvdG96OnBob3Rvei1zZWNyZXQ="
