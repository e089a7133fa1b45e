-- crmtop schema, version 17: the queue's search finds `lukasz` in Łukasz
-- and `soren` in Søren, as a server's does. FTS5's unicode61 tokenizer
-- takes off the accents of letters that decompose (Tomás, Müller) but
-- keeps the letters that do not (ł, ø, đ, ß, æ...: they have no accent
-- to take off). The index gets the customer's name and the item's text
-- with those letters spelled plainly, as PostgreSQL's `unaccent` spells
-- them, from one view that the triggers, `crmtop doctor` and its rebuild
-- all read; a search folds what is typed the same way
-- (`store::feedback::fold`, tested against this view).
CREATE VIEW feedback_search_rows(fid, cid, id, customer_id, name, text) AS
SELECT f.fid, f.cid, f.id, c.id,
       CASE WHEN c.name GLOB '*[ßæðøþđħıłŀŋœŧÆÐØÞĐĦŁĿŊŒŦẞ]*' THEN
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
               c.name,
               'ß', 'ss'), 'æ', 'ae'), 'ð', 'd'), 'ø', 'o'), 'þ', 'th'), 'đ', 'd'), 'ħ', 'h'), 'ı', 'i'), 'ł', 'l'), 'ŀ', 'l'), 'ŋ', 'n'), 'œ', 'oe'), 'ŧ', 't'),
               'Æ', 'AE'), 'Ð', 'D'), 'Ø', 'O'), 'Þ', 'TH'), 'Đ', 'D'), 'Ħ', 'H'), 'Ł', 'L'), 'Ŀ', 'L'), 'Ŋ', 'N'), 'Œ', 'OE'), 'Ŧ', 'T'), 'ẞ', 'SS')
       ELSE c.name END,
       CASE WHEN f.text GLOB '*[ßæðøþđħıłŀŋœŧÆÐØÞĐĦŁĿŊŒŦẞ]*' THEN
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
               f.text,
               'ß', 'ss'), 'æ', 'ae'), 'ð', 'd'), 'ø', 'o'), 'þ', 'th'), 'đ', 'd'), 'ħ', 'h'), 'ı', 'i'), 'ł', 'l'), 'ŀ', 'l'), 'ŋ', 'n'), 'œ', 'oe'), 'ŧ', 't'),
               'Æ', 'AE'), 'Ð', 'D'), 'Ø', 'O'), 'Þ', 'TH'), 'Đ', 'D'), 'Ħ', 'H'), 'Ł', 'L'), 'Ŀ', 'L'), 'Ŋ', 'N'), 'Œ', 'OE'), 'Ŧ', 'T'), 'ẞ', 'SS')
       ELSE f.text END
  FROM feedback f JOIN customers c ON c.cid = f.cid;

DROP TRIGGER feedback_fts_insert;
DROP TRIGGER feedback_fts_update;
DROP TRIGGER feedback_fts_customer;
CREATE TRIGGER feedback_fts_insert AFTER INSERT ON feedback BEGIN
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        SELECT fid, id, customer_id, name, text FROM feedback_search_rows WHERE fid = new.fid;
END;
CREATE TRIGGER feedback_fts_update AFTER UPDATE OF id, cid, text ON feedback
WHEN old.id IS NOT new.id OR old.cid IS NOT new.cid OR old.text IS NOT new.text BEGIN
    DELETE FROM feedback_fts WHERE rowid = old.fid;
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        SELECT fid, id, customer_id, name, text FROM feedback_search_rows WHERE fid = new.fid;
END;
CREATE TRIGGER feedback_fts_customer AFTER UPDATE OF id, name ON customers
WHEN old.id IS NOT new.id OR old.name IS NOT new.name BEGIN
    DELETE FROM feedback_fts WHERE rowid IN (SELECT fid FROM feedback WHERE cid = new.cid);
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        SELECT fid, id, customer_id, name, text FROM feedback_search_rows WHERE cid = new.cid;
END;

-- The items indexed with such a letter, indexed again.
CREATE TEMP TABLE folded_items AS
    SELECT f.fid FROM feedback f JOIN customers c ON c.cid = f.cid
     WHERE c.name GLOB '*[ßæðøþđħıłŀŋœŧÆÐØÞĐĦŁĿŊŒŦẞ]*' OR f.text GLOB '*[ßæðøþđħıłŀŋœŧÆÐØÞĐĦŁĿŊŒŦẞ]*';
DELETE FROM feedback_fts WHERE rowid IN (SELECT fid FROM temp.folded_items);
INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
    SELECT fid, id, customer_id, name, text FROM feedback_search_rows
     WHERE fid IN (SELECT fid FROM temp.folded_items);
DROP TABLE temp.folded_items;
