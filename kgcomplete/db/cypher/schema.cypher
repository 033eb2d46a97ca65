// Indexes and constraints kgcomplete needs. Idempotent: safe to run again.
// The key constraint on the entities' base label is created by `kgcomplete load` from
// the settings (graph.base_label, graph.key_property); with the defaults it is:
CREATE CONSTRAINT kgc_entity_uid IF NOT EXISTS FOR (n:Entity) REQUIRE n.uid IS UNIQUE;
CREATE CONSTRAINT kgc_run_id IF NOT EXISTS FOR (r:KGCRun) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT kgc_relation_type IF NOT EXISTS FOR (t:KGCRelationType) REQUIRE t.type IS UNIQUE;
// Suggestion ids are unique: concurrent writers cannot duplicate a suggestion. (Earlier
// versions had a plain index here, replaced by the constraint's own index.)
DROP INDEX kgc_suggested_id IF EXISTS;
CREATE CONSTRAINT kgc_suggested_id_unique IF NOT EXISTS FOR ()-[s:SUGGESTED]-() REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT kgc_lock_name IF NOT EXISTS FOR (l:KGCLock) REQUIRE l.name IS UNIQUE;
// A writeback batch's counts, committed with the batch until they are folded into its KGCRun.
CREATE CONSTRAINT kgc_write_batch_id IF NOT EXISTS FOR (b:KGCWriteBatch) REQUIRE b.id IS UNIQUE;
