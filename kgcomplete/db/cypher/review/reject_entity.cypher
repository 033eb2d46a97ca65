// Reject a proposed entity and its pending relationships. It stays as a rejected
// proposal: kgcomplete never proposes it (or one nearly like it) again.
// :param id => COLLECT { MATCH (n:SuggestedEntity {status: 'pending'}) RETURN n.id ORDER BY n.probability DESC, n.id LIMIT 1 }[0]
// :param reviewer => 'neo4j-browser'
// (id: the most probable pending proposed entity, or paste one from entities_pending.cypher;
// reviewer: your name)
MATCH (n:SuggestedEntity {id: $id})
SET n.review_lock = true REMOVE n.review_lock   // lock it, then read its status
WITH n WHERE n.status = 'pending'
SET n.status = 'rejected', n.reviewed_at = datetime(), n.reviewed_by = $reviewer, n.updated_at = datetime()
WITH n
CALL (n) {
  OPTIONAL MATCH (n)-[s:SUGGESTED {status: 'pending'}]-()
  SET s.status = 'rejected', s.reviewed_at = datetime(), s.reviewed_by = $reviewer, s.updated_at = datetime()
  RETURN count(s) AS relationships
}
RETURN n.id AS id, n.label AS label, relationships
