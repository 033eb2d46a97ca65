// One suggestion and exactly the real paths its evidence cites, nothing else: each reason
// is stored beside its text as data (evidence_kind, evidence_confidence, and the cited
// relationships as evidence_step_from / _type / _to, by node key), and only paths made of
// cited relationships are drawn. The table view lists the reasons.
// :param id => COLLECT { MATCH ()-[s:SUGGESTED {status: 'pending'}]->() WHERE s.kind IS NULL RETURN s.id ORDER BY s.probability DESC, s.id LIMIT 1 }[0]
// (id: the most probable pending suggestion; paste another id from pending.cypher)
MATCH (a)-[s:SUGGESTED {id: $id}]->(b)
OPTIONAL MATCH p = (a)-[rels*1..4]-(b)
WHERE all(r IN rels WHERE type(r) IN s.evidence_step_type AND any(i IN range(0, size(s.evidence_step_type) - 1)
          WHERE type(r) = s.evidence_step_type[i] AND startNode(r)[s.key_property] = s.evidence_step_from[i]
            AND endNode(r)[s.key_property] = s.evidence_step_to[i]))
RETURN a, s, b, collect(p) AS cited_paths, s.evidence AS reasons
