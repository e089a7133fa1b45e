-- crmtop schema, version 18: the index on customers' email goes. Nothing
-- asks by email (a list sorts by id, name, segment, plan, tenure, last
-- order, orders, revenue or a score; the filter matches folded text, which
-- no index serves), and PostgreSQL's schema never had it. It cost every
-- customer write an index entry and a first load of a million customers
-- a quarter of a second to build.
DROP INDEX IF EXISTS customers_email;
