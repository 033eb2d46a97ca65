// Accept every pending suggestion at or above a probability (optionally of one type).
// :param min_probability => 0.9
// :param type => ''
// :param reviewer => 'neo4j-browser'
// (type: '' for every type, or one relationship type; reviewer: your name)
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.status = 'pending' AND s.kind IS NULL AND s.probability >= $min_probability
  AND coalesce($type, '') IN ['', s.type]
SET s.review_lock = true REMOVE s.review_lock
WITH a, s, b WHERE s.status = 'pending'
CALL (a, s, b) {
  WITH a, s, b WHERE NOT EXISTS { MATCH (a)-[r]->(b) WHERE type(r) = s.type }
  CREATE (a)-[r:$(s.type)]->(b)
  SET r.kgc_suggestion = s.id, r.kgc_accepted_at = datetime()
}
SET s.status = 'accepted', s.caption = s.type + ' ✓ accepted', s.reviewed_at = datetime(),
    s.reviewed_by = $reviewer, s.updated_at = datetime()
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail, s.status AS status
