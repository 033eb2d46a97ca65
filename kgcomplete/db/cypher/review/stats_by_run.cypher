// Runs, newest first, with what each wrote and how its suggestions fared so far.
MATCH (r:KGCRun)
OPTIONAL MATCH ()-[s:SUGGESTED {run_id: r.id}]->()
RETURN r.id AS run, r.status AS status, r.model AS model, r.started_at AS started, r.finished_at AS finished,
       r.written AS written, r.updated AS updated, r.skipped AS skipped,
       count(CASE WHEN s.status = 'pending' THEN 1 END) AS pending,
       count(CASE WHEN s.status = 'accepted' THEN 1 END) AS accepted,
       count(CASE WHEN s.status = 'rejected' THEN 1 END) AS rejected
ORDER BY r.started_at DESC
