-- A token relying on a policy that changed or went is refused when it is read (the store's
-- `token`), not deleted through links from each policy to its tokens: the links go.
DROP TABLE token_policies;
