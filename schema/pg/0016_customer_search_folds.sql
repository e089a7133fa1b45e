-- crmtop on PostgreSQL, version 16: the lists' filter (`/`) folds accents,
-- and its trigram indexes go.
--
-- Typing `lukasz` found no Łukasz among the customers (`ILIKE` compares
-- case, not accents), where the queue's search (unaccent) did. The UI
-- answers a filter from its in-memory search (src/store/search.rs), which
-- now folds texts: lower-case, canonical decomposition, the combining
-- diacritical marks U+0300-U+036F dropped, and the letters that carry no
-- separable accent spelled plainly (src/store/fold.rs). `crmtop_fold`
-- below folds the same way, for the pages asked by the text itself
-- (tests compare every way of asking).
--
-- The trigram indexes of schema 7 served the text before the in-memory
-- search was ready. Over folded texts they took 19 s and 3.4 s to build
-- at a million demo customers (9.8 s and 1.7 s unfolded), and every
-- import builds them again; the UI now waits for its search instead
-- (0.74 s at a million, once per data version), so they are dropped.
CREATE FUNCTION crmtop_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(
           translate(
               regexp_replace(
                   regexp_replace(normalize(lower(t), NFD), '[\u0300-\u036f]', '', 'g'),
                   '[\x01-\x1f\x7f-\x9f]', ' ', 'g'),
               'ðøđħıłŀŋŧ', 'dodhillnt'),
           'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'þ', 'th');

DROP INDEX customers_words;
DROP INDEX customers_id_words;
