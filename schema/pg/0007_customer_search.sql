-- crmtop on PostgreSQL, version 7: the lists' filter (`/`) through
-- trigram indexes.
--
-- A filter keeps the customers whose id, name or e-mail contains the typed
-- text, without regard to case (ILIKE '%text%'). Without an index each
-- keystroke's count read every customer (0.5-2 s at a million); pg_trgm
-- (a trusted extension of PostgreSQL's contrib, as unaccent is) answers a
-- text of three characters or more from a GIN index. The three fields are
-- indexed as one text, joined by a unit separator that no typed filter
-- holds, so that a match never spans two fields (src/store/pg/list.rs).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX customers_words ON customers USING gin
    ((id || E'\x1f' || COALESCE(name, '') || E'\x1f' || COALESCE(email, '')) gin_trgm_ops);
CREATE INDEX customers_id_words ON customers USING gin (id gin_trgm_ops);
