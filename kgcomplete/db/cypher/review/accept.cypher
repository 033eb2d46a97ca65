// Accept one suggestion: in one transaction, create the real relationship of the
// suggested type (unless it exists already) and mark the suggestion accepted. Its caption
// becomes "type ✓ accepted"; it leaves the pending views (decided.cypher shows the real one).
// :param id => COLLECT { MATCH ()-[s:SUGGESTED {status: 'pending'}]->() WHERE s.kind IS NULL RETURN s.id ORDER BY s.probability DESC, s.id LIMIT 1 }[0]
// :param reviewer => 'neo4j-browser'
// (id: the most probable pending suggestion, or paste one; reviewer: your name.
// A relationship of a proposed SuggestedEntity becomes real when the entity is accepted:
// see accept_entity.cypher.)
MATCH (a)-[s:SUGGESTED {id: $id}]->(b)
SET s.review_lock = true REMOVE s.review_lock   // lock it, then read its status
WITH a, s, b WHERE s.status = 'pending' AND NOT a:SuggestedEntity AND NOT b:SuggestedEntity
CALL (a, s, b) {
  WITH a, s, b WHERE NOT EXISTS { MATCH (a)-[r]->(b) WHERE type(r) = s.type }
  CREATE (a)-[r:$(s.type)]->(b)
  SET r.kgc_suggestion = s.id, r.kgc_accepted_at = datetime()
}
SET s.status = 'accepted', s.caption = s.type + ' ✓ accepted', s.reviewed_at = datetime(),
    s.reviewed_by = $reviewer, s.updated_at = datetime()
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail, s.status AS status
