-- Finding a ticket: each item's words (its id, its customer's id, its
-- text) and the same with the customer's name, as text-search vectors
-- with GIN indexes, kept current by triggers (as the SQLite file's FTS5
-- table is). A search matches every word typed as the start of a word,
-- accents aside ("tomas" finds Tomás, as FTS5's unicode61 does on a file):
-- `unaccent` is one of PostgreSQL's own extensions, trusted, so the
-- database's owner may add it.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TABLE feedback_search (
    fid   BIGINT PRIMARY KEY REFERENCES feedback(fid) ON DELETE CASCADE,
    doc   tsvector NOT NULL,
    named tsvector NOT NULL
);
CREATE INDEX feedback_search_doc ON feedback_search USING gin (doc);
CREATE INDEX feedback_search_named ON feedback_search USING gin (named);

CREATE FUNCTION crmtop_feedback_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One item (by its key), or every item of a renamed customer (by the
    -- customer index): two statements, so that each uses its index.
    IF TG_TABLE_NAME = 'feedback' THEN
        INSERT INTO feedback_search(fid, doc, named)
        SELECT f.fid,
               to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(f.text, ''))),
               to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(c.name, '') || ' ' || coalesce(f.text, '')))
          FROM feedback f JOIN customers c ON c.cid = f.cid
         WHERE f.fid = NEW.fid
        ON CONFLICT (fid) DO UPDATE SET doc = excluded.doc, named = excluded.named;
    ELSE
        INSERT INTO feedback_search(fid, doc, named)
        SELECT f.fid,
               to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(f.text, ''))),
               to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(c.name, '') || ' ' || coalesce(f.text, '')))
          FROM feedback f JOIN customers c ON c.cid = f.cid
         WHERE f.cid = NEW.cid
        ON CONFLICT (fid) DO UPDATE SET doc = excluded.doc, named = excluded.named;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER feedback_words AFTER INSERT OR UPDATE OF id, cid, text ON feedback
    FOR EACH ROW EXECUTE FUNCTION crmtop_feedback_words();
CREATE TRIGGER customer_words AFTER UPDATE OF id, name ON customers
    FOR EACH ROW EXECUTE FUNCTION crmtop_feedback_words();

INSERT INTO feedback_search(fid, doc, named)
SELECT f.fid,
       to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(f.text, ''))),
       to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(c.name, '') || ' ' || coalesce(f.text, '')))
  FROM feedback f JOIN customers c ON c.cid = f.cid;
