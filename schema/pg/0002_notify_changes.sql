-- Every open UI learns of another agent's change at once: a change to the
-- feedback items (a claim, a resolution, an import) sends a notification
-- on channel crmtop_changes when its transaction commits, one per
-- statement, and the UIs that LISTEN reload what they show.
CREATE FUNCTION crmtop_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crmtop_changes', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER feedback_notify AFTER INSERT OR UPDATE OR DELETE ON feedback
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_notify_change();
