// Accept a proposed entity, in one transaction: it loses the SuggestedEntity label, gains
// its proposed label and the base label, gets the properties you give (at least the key
// property, which must be new), and each of its pending proposed relationships becomes the
// real relationship. Relationships you rejected first (reject.cypher) stay rejected.
// :param id => COLLECT { MATCH (n:SuggestedEntity {status: 'pending'}) RETURN n.id ORDER BY n.probability DESC, n.id LIMIT 1 }[0]
// :param base_label => 'Entity'
// :param properties => ({uid: 'a-new-key', name: 'Its name'})
// :param reviewer => 'neo4j-browser'
// (id: the most probable pending proposed entity, or paste one from entities_pending.cypher;
// reviewer: your name)
MATCH (n:SuggestedEntity {id: $id})
SET n.review_lock = true REMOVE n.review_lock   // lock it, then read its status
WITH n WHERE n.status = 'pending'
WITH n, n.id AS sid, n.label AS label, n.run_id AS run
REMOVE n:SuggestedEntity, n.id, n.label, n.status, n.probability, n.label_probability, n.novelty, n.support,
       n.anchor, n.evidence, n.caption, n.model, n.run_id, n.signature, n.closest, n.created_at, n.updated_at
SET n:$([x IN [label, $base_label] WHERE x IS NOT NULL AND x <> ''])
SET n += $properties
SET n.kgc_suggestion = sid, n.kgc_run = run, n.kgc_accepted_at = datetime(), n.kgc_accepted_by = $reviewer
WITH n, sid, label
CALL (n, sid) {
  OPTIONAL MATCH (n)-[s:SUGGESTED {status: 'pending'}]-()
  WITH s, startNode(s) AS a, endNode(s) AS b WHERE s IS NOT NULL
  CREATE (a)-[r:$(s.type)]->(b)
  SET r.kgc_suggestion = s.id, r.kgc_accepted_at = datetime(),
      s.status = 'accepted', s.reviewed_at = datetime(), s.reviewed_by = $reviewer, s.updated_at = datetime()
  RETURN count(r) AS relationships
}
RETURN sid AS id, label, relationships
