ALTER TABLE pending_signups DROP COLUMN trail;
DROP TABLE member_attributions;
