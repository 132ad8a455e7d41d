-- After every `heeded migrate`, as the owner role: the application role may read and
-- write the application's tables, but only read and append the ledger.
-- The same statements as docs/ledger.md §9 (a test keeps the two identical).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO heeded_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO heeded_app;
REVOKE ALL ON TABLE ledger_event, ledger_anchor FROM heeded_app;
GRANT SELECT, INSERT ON TABLE ledger_event, ledger_anchor TO heeded_app;
