-- The front, tag and author pages list live posts newest first
-- (`ORDER BY published_at DESC, id DESC LIMIT n`). With only
-- (status, published_at), which cannot give that order across the two live
-- statuses, both databases read every article and sorted them on each
-- uncached view (67 ms for 10k articles on PostgreSQL). Walked backwards,
-- this index stops after the rows a page shows. Not partial: SQLite's
-- planner cannot match a bound `on_site = ?` to a partial index's WHERE.
CREATE INDEX articles_newest_first ON articles (published_at, id);
