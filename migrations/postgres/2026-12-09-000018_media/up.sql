-- Uploaded images. Each is stored under its content's SHA-256 (of the file
-- as kept: metadata removed), so the same picture uploaded twice is one
-- row and one set of files, and a stored file never changes (served as
-- immutable). `variants` lists the narrower WebP copies made for srcset, as
-- JSON [{"key", "width", "height", "bytes"}], narrowest first.
CREATE TABLE media (
    id SERIAL PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    storage_key TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    variants TEXT NOT NULL,
    uploaded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
