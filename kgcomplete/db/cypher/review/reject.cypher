// Reject one suggestion. It stays in the graph, marked rejected: it is never proposed
// again and later training uses it as a hard negative.
// :param id => 'paste an id from pending.cypher'
// :param reviewer => 'your name'
MATCH (a)-[s:SUGGESTED {id: $id}]->(b)
SET s.review_lock = true REMOVE s.review_lock
WITH s WHERE s.status = 'pending'
SET s.status = 'rejected', s.reviewed_at = datetime(), s.reviewed_by = $reviewer, s.updated_at = datetime()
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail, s.status AS status
