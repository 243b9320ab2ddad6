-- The publication's own settings (name, look, sender, navigation...), one
-- row, kept as a JSON document so a setting added later needs no migration:
-- the application reads it with a default for every field it lacks.
CREATE TABLE site_settings (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    document TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
