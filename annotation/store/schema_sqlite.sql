-- Frontdoor SQLite store at schema revision 0013: the dump of a store the migrations made (scripts/record-sqlite-schema.py)
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0013');
CREATE TABLE annotation (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	tier_pk INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	ann_id VARCHAR(100) NOT NULL, 
	ts1 VARCHAR(100), 
	ts2 VARCHAR(100), 
	ref VARCHAR(100), 
	prev VARCHAR(100), 
	value TEXT NOT NULL, 
	ext_ref TEXT, 
	lang_ref VARCHAR(100), 
	cve_ref VARCHAR(200), 
	svg_ref VARCHAR(200), 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_annotation PRIMARY KEY (id), 
	CONSTRAINT fk_annotation_prev FOREIGN KEY(document_id, prev) REFERENCES annotation (document_id, ann_id) DEFERRABLE INITIALLY DEFERRED, 
	CONSTRAINT fk_annotation_ref FOREIGN KEY(document_id, ref) REFERENCES annotation (document_id, ann_id) DEFERRABLE INITIALLY DEFERRED, 
	CONSTRAINT fk_annotation_ts1 FOREIGN KEY(document_id, ts1) REFERENCES time_slot (document_id, slot_id) DEFERRABLE INITIALLY DEFERRED, 
	CONSTRAINT fk_annotation_ts2 FOREIGN KEY(document_id, ts2) REFERENCES time_slot (document_id, slot_id) DEFERRABLE INITIALLY DEFERRED, 
	CONSTRAINT fk_annotation_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE, 
	CONSTRAINT fk_annotation_tier_pk_tier FOREIGN KEY(tier_pk) REFERENCES tier (id) ON DELETE CASCADE, 
	CONSTRAINT uq_annotation_doc_ann UNIQUE (document_id, ann_id)
);
CREATE TABLE appearance (
	id INTEGER NOT NULL, 
	participant_id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	start_ms INTEGER NOT NULL, 
	end_ms INTEGER NOT NULL, 
	origin VARCHAR(20) NOT NULL, 
	document_id INTEGER, 
	CONSTRAINT pk_appearance PRIMARY KEY (id), 
	CONSTRAINT fk_appearance_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE SET NULL, 
	CONSTRAINT fk_appearance_participant_id_participant FOREIGN KEY(participant_id) REFERENCES participant (id) ON DELETE CASCADE, 
	CONSTRAINT fk_appearance_recording_id_recording FOREIGN KEY(recording_id) REFERENCES recording (id) ON DELETE CASCADE
);
CREATE TABLE audit_anchor (
	id INTEGER NOT NULL, 
	entry_id INTEGER NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	kind VARCHAR(30) NOT NULL, 
	back_to INTEGER, 
	lost_to INTEGER, 
	written_at DATETIME NOT NULL, 
	written_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_audit_anchor PRIMARY KEY (id)
);
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	event VARCHAR(40) NOT NULL, 
	participant_id INTEGER, 
	clip_id INTEGER, 
	payload TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id), 
	CONSTRAINT uq_audit_log_hash UNIQUE (hash), 
	CONSTRAINT uq_audit_log_prev_hash UNIQUE (prev_hash)
);
CREATE TABLE clip (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	description TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_clip PRIMARY KEY (id), 
	CONSTRAINT fk_clip_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	CONSTRAINT fk_clip_recording_id_recording FOREIGN KEY(recording_id) REFERENCES recording (id) ON DELETE CASCADE
);
CREATE TABLE clip_version (
	id INTEGER NOT NULL, 
	clip_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	version_hash VARCHAR(64) NOT NULL, 
	spec JSON NOT NULL, 
	source_sha256 VARCHAR(64) NOT NULL, 
	reason TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_clip_version PRIMARY KEY (id), 
	CONSTRAINT fk_clip_version_clip_id_clip FOREIGN KEY(clip_id) REFERENCES clip (id) ON DELETE CASCADE, 
	CONSTRAINT uq_clip_version_clip_number UNIQUE (clip_id, number), 
	CONSTRAINT uq_clip_version_clip_hash UNIQUE (clip_id, version_hash)
);
CREATE TABLE consent_lock (
	id INTEGER NOT NULL, 
	n INTEGER NOT NULL, 
	CONSTRAINT pk_consent_lock PRIMARY KEY (id)
);
INSERT INTO "consent_lock" VALUES(1,0);
CREATE TABLE "consent_policy" (
	project_id INTEGER NOT NULL, 
	keep_real_names BOOLEAN NOT NULL, 
	passphrase_hash VARCHAR(400), 
	blur_withheld BOOLEAN DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_consent_policy PRIMARY KEY (project_id), 
	CONSTRAINT fk_consent_policy_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
CREATE TABLE db_role (
	role_name VARCHAR(63) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	CONSTRAINT pk_db_role PRIMARY KEY (role_name)
);
CREATE TABLE decision (
	id INTEGER NOT NULL, 
	clip_version_id INTEGER NOT NULL, 
	participant_id INTEGER NOT NULL, 
	scope VARCHAR(30) NOT NULL, 
	decision VARCHAR(20) NOT NULL, 
	conditions JSON NOT NULL, 
	method VARCHAR(20) NOT NULL, 
	form_reference TEXT, 
	recorded_by VARCHAR(200) NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	CONSTRAINT pk_decision PRIMARY KEY (id), 
	CONSTRAINT fk_decision_clip_version_id_clip_version FOREIGN KEY(clip_version_id) REFERENCES clip_version (id) ON DELETE CASCADE, 
	CONSTRAINT fk_decision_participant_id_participant FOREIGN KEY(participant_id) REFERENCES participant (id) ON DELETE CASCADE
);
CREATE TABLE destruction_permit (
	id INTEGER NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	row_id INTEGER NOT NULL, 
	audit_id INTEGER NOT NULL, 
	txid BIGINT, 
	CONSTRAINT pk_destruction_permit PRIMARY KEY (id), 
	CONSTRAINT fk_destruction_permit_audit_id_audit_log FOREIGN KEY(audit_id) REFERENCES audit_log (id)
);
CREATE TABLE doc_license (
	url TEXT, 
	text TEXT, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_doc_license PRIMARY KEY (id), 
	CONSTRAINT fk_doc_license_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE document (
	id INTEGER NOT NULL, 
	project_id INTEGER, 
	recording_id INTEGER, 
	kind VARCHAR(3) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	source_path TEXT, 
	root_attrs JSON NOT NULL, 
	header_attrs JSON NOT NULL, 
	upgrade_notes JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	modified_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, media_origin_ms INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_document PRIMARY KEY (id), 
	CONSTRAINT fk_document_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	CONSTRAINT fk_document_recording_id_recording FOREIGN KEY(recording_id) REFERENCES recording (id) ON DELETE SET NULL
);
CREATE TABLE export (
	id INTEGER NOT NULL, 
	project_id INTEGER, 
	scope VARCHAR(30) NOT NULL, 
	folder TEXT NOT NULL, 
	audience TEXT, 
	internal_audience BOOLEAN NOT NULL, 
	expires VARCHAR(10), 
	exported_by VARCHAR(200) NOT NULL, 
	exported_at DATETIME NOT NULL, 
	CONSTRAINT pk_export PRIMARY KEY (id), 
	CONSTRAINT fk_export_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE SET NULL
);
CREATE TABLE export_item (
	id INTEGER NOT NULL, 
	export_id INTEGER NOT NULL, 
	clip_version_id INTEGER NOT NULL, 
	path TEXT NOT NULL, 
	output_sha256 VARCHAR(64) NOT NULL, 
	decision_ids JSON NOT NULL, 
	participant_ids JSON NOT NULL, 
	destroyed_at DATETIME, 
	destroyed_by VARCHAR(200), 
	CONSTRAINT pk_export_item PRIMARY KEY (id), 
	CONSTRAINT fk_export_item_clip_version_id_clip_version FOREIGN KEY(clip_version_id) REFERENCES clip_version (id) ON DELETE CASCADE, 
	CONSTRAINT fk_export_item_export_id_export FOREIGN KEY(export_id) REFERENCES export (id) ON DELETE CASCADE
);
CREATE TABLE external_ref (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_external_ref PRIMARY KEY (id), 
	CONSTRAINT fk_external_ref_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE face_box (
	track_id INTEGER NOT NULL, 
	frame INTEGER NOT NULL, 
	time_ms INTEGER NOT NULL, 
	x FLOAT NOT NULL, 
	y FLOAT NOT NULL, 
	w FLOAT NOT NULL, 
	h FLOAT NOT NULL, 
	score FLOAT NOT NULL, 
	state VARCHAR(10) NOT NULL, 
	CONSTRAINT pk_face_box PRIMARY KEY (track_id, frame), 
	CONSTRAINT fk_face_box_track_id_face_track FOREIGN KEY(track_id) REFERENCES face_track (id) ON DELETE CASCADE
);
CREATE TABLE face_scan (
	id INTEGER NOT NULL, 
	recording_sha256 VARCHAR(64) NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	settings JSON NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	frame_count INTEGER NOT NULL, 
	frame_ms FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_face_scan PRIMARY KEY (id)
);
CREATE TABLE face_track (
	id INTEGER NOT NULL, 
	scan_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	participant_id INTEGER, 
	CONSTRAINT pk_face_track PRIMARY KEY (id), 
	CONSTRAINT fk_face_track_scan_id_face_scan FOREIGN KEY(scan_id) REFERENCES face_scan (id) ON DELETE CASCADE, 
	CONSTRAINT uq_face_track_scan_id UNIQUE (scan_id, number)
);
CREATE TABLE header_property (
	name TEXT, 
	value TEXT, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_header_property PRIMARY KEY (id), 
	CONSTRAINT fk_header_property_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE identifier_proposal (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	ann_id VARCHAR(100) NOT NULL, 
	tier_id VARCHAR(300) NOT NULL, 
	source VARCHAR(10) NOT NULL, 
	term_id INTEGER, 
	kind VARCHAR(40) NOT NULL, 
	value VARCHAR(100) NOT NULL, 
	start_ms INTEGER NOT NULL, 
	end_ms INTEGER NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	sensitive_ann_id VARCHAR(100), 
	found_at DATETIME NOT NULL, 
	decided_at DATETIME, 
	CONSTRAINT pk_identifier_proposal PRIMARY KEY (id), 
	CONSTRAINT fk_identifier_proposal_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE, 
	CONSTRAINT fk_identifier_proposal_term_id_watch_term FOREIGN KEY(term_id) REFERENCES watch_term (id) ON DELETE SET NULL, 
	CONSTRAINT uq_identifier_proposal_doc_fingerprint UNIQUE (document_id, fingerprint)
);
CREATE TABLE language (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_language PRIMARY KEY (id), 
	CONSTRAINT fk_language_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE lexicon_ref (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_lexicon_ref PRIMARY KEY (id), 
	CONSTRAINT fk_lexicon_ref_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE linguistic_type (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_linguistic_type PRIMARY KEY (id), 
	CONSTRAINT fk_linguistic_type_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE linked_file (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_linked_file PRIMARY KEY (id), 
	CONSTRAINT fk_linked_file_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE locale (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_locale PRIMARY KEY (id), 
	CONSTRAINT fk_locale_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE media_descriptor (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_media_descriptor PRIMARY KEY (id), 
	CONSTRAINT fk_media_descriptor_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE participant (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	pseudonym VARCHAR(100) NOT NULL, 
	real_name VARCHAR(200), 
	role VARCHAR(200), 
	contact VARCHAR(300), 
	created_at DATETIME NOT NULL, 
	withdrawn_at DATETIME, 
	withdrawal_reason TEXT, 
	CONSTRAINT pk_participant PRIMARY KEY (id), 
	CONSTRAINT fk_participant_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	CONSTRAINT uq_participant_project_id UNIQUE (project_id, pseudonym)
);
CREATE TABLE presence (
	clip_version_id INTEGER NOT NULL, 
	participant_id INTEGER NOT NULL, 
	origin VARCHAR(20) NOT NULL, 
	CONSTRAINT pk_presence PRIMARY KEY (clip_version_id, participant_id), 
	CONSTRAINT fk_presence_clip_version_id_clip_version FOREIGN KEY(clip_version_id) REFERENCES clip_version (id) ON DELETE CASCADE, 
	CONSTRAINT fk_presence_participant_id_participant FOREIGN KEY(participant_id) REFERENCES participant (id) ON DELETE CASCADE
);
CREATE TABLE project (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_project PRIMARY KEY (id), 
	CONSTRAINT uq_project_name UNIQUE (name)
);
CREATE TABLE record_key (
	project_id INTEGER NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_record_key PRIMARY KEY (project_id), 
	CONSTRAINT fk_record_key_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
CREATE TABLE record_segment (
	record_id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	ann_id VARCHAR(100) NOT NULL, 
	CONSTRAINT pk_record_segment PRIMARY KEY (record_id, document_id, ann_id), 
	CONSTRAINT fk_record_segment_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE, 
	CONSTRAINT fk_record_segment_record_id_referral_record FOREIGN KEY(record_id) REFERENCES referral_record (id) ON DELETE CASCADE
);
CREATE TABLE recording (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	abs_path TEXT NOT NULL, 
	rel_path TEXT, 
	mime_type VARCHAR(100), 
	duration_ms INTEGER, 
	fps FLOAT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_recording PRIMARY KEY (id), 
	CONSTRAINT fk_recording_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
CREATE TABLE ref_link (
	id INTEGER NOT NULL, 
	set_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	attrs JSON NOT NULL, 
	value TEXT, 
	CONSTRAINT pk_ref_link PRIMARY KEY (id), 
	CONSTRAINT fk_ref_link_set_id_ref_link_set FOREIGN KEY(set_id) REFERENCES ref_link_set (id) ON DELETE CASCADE
);
CREATE TABLE ref_link_set (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_ref_link_set PRIMARY KEY (id), 
	CONSTRAINT fk_ref_link_set_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE referral_record (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	ref_hash VARCHAR(64), 
	received_at DATETIME NOT NULL, 
	period VARCHAR(50) NOT NULL, 
	referrer_type VARCHAR(100) NOT NULL, 
	professional BOOLEAN, 
	concern VARCHAR(100) NOT NULL, 
	age_band VARCHAR(30), 
	previous_referrals INTEGER, 
	response VARCHAR(100), 
	outcome VARCHAR(100), 
	decision_minutes INTEGER, 
	initial_assessment BOOLEAN, 
	feedback BOOLEAN, 
	manager_consulted BOOLEAN, 
	notes TEXT, 
	source VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	modified_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_referral_record PRIMARY KEY (id), 
	CONSTRAINT fk_referral_record_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE, 
	CONSTRAINT uq_referral_record_project_ref UNIQUE (project_id, ref_hash)
);
CREATE TABLE retention_policy (
	project_id INTEGER NOT NULL, 
	recordings VARCHAR(10), 
	clips VARCHAR(10), 
	exports VARCHAR(10), 
	documents VARCHAR(20) NOT NULL, 
	changed_at DATETIME NOT NULL, 
	CONSTRAINT pk_retention_policy PRIMARY KEY (project_id), 
	CONSTRAINT fk_retention_policy_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
CREATE TABLE station_binding (
	role_name VARCHAR(63) NOT NULL, 
	participant_id INTEGER NOT NULL, 
	CONSTRAINT pk_station_binding PRIMARY KEY (role_name), 
	CONSTRAINT fk_station_binding_participant_id_participant FOREIGN KEY(participant_id) REFERENCES participant (id) ON DELETE CASCADE
);
CREATE TABLE tier (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	tier_id VARCHAR(300) NOT NULL, 
	parent_ref VARCHAR(300), 
	linguistic_type_ref VARCHAR(300), 
	participant TEXT, 
	annotator TEXT, 
	default_locale VARCHAR(50), 
	attr_order JSON NOT NULL, 
	extra_attrs JSON NOT NULL, 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_tier PRIMARY KEY (id), 
	CONSTRAINT fk_tier_parent FOREIGN KEY(document_id, parent_ref) REFERENCES tier (document_id, tier_id) DEFERRABLE INITIALLY DEFERRED, 
	CONSTRAINT fk_tier_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE, 
	CONSTRAINT uq_tier_doc_tier UNIQUE (document_id, tier_id)
);
CREATE TABLE tier_constraint (
	attrs JSON NOT NULL, 
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	CONSTRAINT pk_tier_constraint PRIMARY KEY (id), 
	CONSTRAINT fk_tier_constraint_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE time_slot (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	slot_id VARCHAR(100) NOT NULL, 
	time_ms INTEGER, 
	CONSTRAINT pk_time_slot PRIMARY KEY (id), 
	CONSTRAINT fk_time_slot_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE, 
	CONSTRAINT uq_time_slot_doc_slot UNIQUE (document_id, slot_id)
);
CREATE TABLE vocabulary (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	cv_id VARCHAR(300) NOT NULL, 
	ext_ref VARCHAR(100), 
	CONSTRAINT pk_vocabulary PRIMARY KEY (id), 
	CONSTRAINT fk_vocabulary_document_id_document FOREIGN KEY(document_id) REFERENCES document (id) ON DELETE CASCADE
);
CREATE TABLE vocabulary_description (
	id INTEGER NOT NULL, 
	vocabulary_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	lang_ref VARCHAR(100), 
	text TEXT, 
	CONSTRAINT pk_vocabulary_description PRIMARY KEY (id), 
	CONSTRAINT fk_vocabulary_description_vocabulary_id_vocabulary FOREIGN KEY(vocabulary_id) REFERENCES vocabulary (id) ON DELETE CASCADE
);
CREATE TABLE vocabulary_entry (
	id INTEGER NOT NULL, 
	vocabulary_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	cve_id VARCHAR(200), 
	ext_ref VARCHAR(100), 
	CONSTRAINT pk_vocabulary_entry PRIMARY KEY (id), 
	CONSTRAINT fk_vocabulary_entry_vocabulary_id_vocabulary FOREIGN KEY(vocabulary_id) REFERENCES vocabulary (id) ON DELETE CASCADE
);
CREATE TABLE vocabulary_value (
	id INTEGER NOT NULL, 
	entry_id INTEGER NOT NULL, 
	pos INTEGER NOT NULL, 
	lang_ref VARCHAR(100), 
	description TEXT, 
	value TEXT NOT NULL, 
	CONSTRAINT pk_vocabulary_value PRIMARY KEY (id), 
	CONSTRAINT fk_vocabulary_value_entry_id_vocabulary_entry FOREIGN KEY(entry_id) REFERENCES vocabulary_entry (id) ON DELETE CASCADE
);
CREATE TABLE watch_term (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	term TEXT NOT NULL, 
	variants JSON NOT NULL, 
	label VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_watch_term PRIMARY KEY (id), 
	CONSTRAINT fk_watch_term_project_id_project FOREIGN KEY(project_id) REFERENCES project (id) ON DELETE CASCADE
);
CREATE INDEX ix_recording_project_id ON recording (project_id);
CREATE INDEX ix_recording_sha256 ON recording (sha256);
CREATE INDEX ix_document_project_id ON document (project_id);
CREATE INDEX ix_document_recording_id ON document (recording_id);
CREATE INDEX ix_doc_license_document_id ON doc_license (document_id);
CREATE INDEX ix_external_ref_document_id ON external_ref (document_id);
CREATE INDEX ix_header_property_document_id ON header_property (document_id);
CREATE INDEX ix_language_document_id ON language (document_id);
CREATE INDEX ix_lexicon_ref_document_id ON lexicon_ref (document_id);
CREATE INDEX ix_linguistic_type_document_id ON linguistic_type (document_id);
CREATE INDEX ix_linked_file_document_id ON linked_file (document_id);
CREATE INDEX ix_locale_document_id ON locale (document_id);
CREATE INDEX ix_media_descriptor_document_id ON media_descriptor (document_id);
CREATE INDEX ix_ref_link_set_document_id ON ref_link_set (document_id);
CREATE INDEX ix_tier_constraint_document_id ON tier_constraint (document_id);
CREATE INDEX ix_vocabulary_document_id ON vocabulary (document_id);
CREATE INDEX ix_annotation_tier_pos ON annotation (tier_pk, pos);
CREATE INDEX ix_ref_link_set_id ON ref_link (set_id);
CREATE INDEX ix_vocabulary_description_vocabulary_id ON vocabulary_description (vocabulary_id);
CREATE INDEX ix_vocabulary_entry_vocabulary_id ON vocabulary_entry (vocabulary_id);
CREATE INDEX ix_vocabulary_value_entry_id ON vocabulary_value (entry_id);
CREATE INDEX ix_audit_log_clip_id ON audit_log (clip_id);
CREATE INDEX ix_audit_log_participant_id ON audit_log (participant_id);
CREATE INDEX ix_export_project_id ON export (project_id);
CREATE INDEX ix_participant_project_id ON participant (project_id);
CREATE INDEX ix_clip_project_id ON clip (project_id);
CREATE INDEX ix_clip_recording_id ON clip (recording_id);
CREATE INDEX ix_appearance_participant_id ON appearance (participant_id);
CREATE INDEX ix_appearance_recording_id ON appearance (recording_id);
CREATE INDEX ix_clip_version_clip_id ON clip_version (clip_id);
CREATE INDEX ix_clip_version_version_hash ON clip_version (version_hash);
CREATE INDEX ix_decision_clip_version_id ON decision (clip_version_id);
CREATE INDEX ix_decision_participant_id ON decision (participant_id);
CREATE INDEX ix_export_item_clip_version_id ON export_item (clip_version_id);
CREATE INDEX ix_export_item_export_id ON export_item (export_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log rows are never changed'); END;
CREATE TRIGGER clip_version_no_update BEFORE UPDATE ON clip_version BEGIN SELECT RAISE(ABORT, 'clip_version rows are never changed'); END;
CREATE TRIGGER decision_no_update BEFORE UPDATE ON decision BEGIN SELECT RAISE(ABORT, 'decision rows are never changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log rows are never deleted'); END;
CREATE INDEX ix_referral_record_period ON referral_record (period);
CREATE INDEX ix_referral_record_project_id ON referral_record (project_id);
CREATE INDEX ix_record_segment_document_id ON record_segment (document_id);
CREATE INDEX ix_station_binding_participant_id ON station_binding (participant_id);
CREATE INDEX ix_annotation_doc_ref ON annotation (document_id, ref);
CREATE INDEX ix_annotation_doc_prev ON annotation (document_id, prev);
CREATE INDEX ix_annotation_doc_ts1 ON annotation (document_id, ts1);
CREATE INDEX ix_annotation_doc_ts2 ON annotation (document_id, ts2);
CREATE INDEX ix_time_slot_doc_pos ON time_slot (document_id, pos);
CREATE INDEX ix_destruction_permit_row_id ON destruction_permit (row_id);
CREATE TRIGGER clip_version_no_delete BEFORE DELETE ON clip_version WHEN NOT EXISTS (SELECT 1 FROM destruction_permit p JOIN audit_log a ON a.id = p.audit_id WHERE p.kind = 'clip_version' AND p.row_id = OLD.id AND a.event = 'destroyed' AND a.clip_id = OLD.clip_id) BEGIN SELECT RAISE(ABORT, 'clip_version rows are never deleted'); END;
CREATE TRIGGER decision_no_delete BEFORE DELETE ON decision WHEN NOT EXISTS (SELECT 1 FROM destruction_permit p JOIN audit_log a ON a.id = p.audit_id WHERE p.kind = 'clip_version' AND p.row_id = OLD.clip_version_id AND a.event = 'destroyed' AND a.clip_id = (SELECT v.clip_id FROM clip_version v WHERE v.id = OLD.clip_version_id)) BEGIN SELECT RAISE(ABORT, 'decision rows are never deleted'); END;
CREATE INDEX ix_watch_term_project_id ON watch_term (project_id);
CREATE INDEX ix_identifier_proposal_doc_status ON identifier_proposal (document_id, status);
CREATE INDEX ix_identifier_proposal_term_id ON identifier_proposal (term_id);
CREATE INDEX ix_face_scan_recording_sha256 ON face_scan (recording_sha256);
CREATE INDEX ix_face_track_scan_id ON face_track (scan_id);
CREATE INDEX ix_face_track_participant_id ON face_track (participant_id);
CREATE INDEX ix_audit_anchor_entry_id ON audit_anchor (entry_id);
CREATE TRIGGER audit_anchor_no_update BEFORE UPDATE ON audit_anchor BEGIN SELECT RAISE(ABORT, 'audit_anchor rows are never changed'); END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor BEGIN SELECT RAISE(ABORT, 'audit_anchor rows are never deleted'); END;
COMMIT;
