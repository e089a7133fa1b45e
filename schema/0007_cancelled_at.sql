-- crmtop schema, version 7: the end of a subscription.
--
-- Contractual data (subscriptions, memberships, renewals) say when a
-- customer cancelled. The sBG model (crmtop clv --model sbg) fits the
-- survival of signup cohorts from signup_date and cancelled_at; a customer
-- without cancelled_at is still active. A day, YYYY-MM-DD, like signup_date.
ALTER TABLE customers ADD COLUMN cancelled_at TEXT;
