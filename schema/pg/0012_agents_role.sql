-- crmtop on PostgreSQL, schema 12: what an agent's role may do without
-- owning the tables (README, "The audit log").
--
-- The data version is bumped by statement triggers, which run as whoever
-- changed the table: an agent closing a campaign would need the right to
-- write data_version itself. The function runs as its owner instead (the
-- role that ran the migrations), with the search path it was made with.
ALTER FUNCTION crmtop_bump_data_version() SECURITY DEFINER;
ALTER FUNCTION crmtop_bump_data_version() SET search_path FROM CURRENT;
