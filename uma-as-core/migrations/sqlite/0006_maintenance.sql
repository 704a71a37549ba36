-- What the maintenance task's purges select on, so that each batch is an index range rather
-- than a scan: policy links by token, decisions and pending requests by age.
CREATE INDEX token_policies_by_hash ON token_policies (hash);
CREATE INDEX decisions_by_time ON decisions (at);
CREATE INDEX pending_requests_by_age ON pending_requests (created_at);
