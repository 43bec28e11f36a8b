CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    name TEXT PRIMARY KEY,
    color TEXT NOT NULL,
    visible INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    object_id INTEGER PRIMARY KEY,
    label TEXT NOT NULL REFERENCES labels(name) ON UPDATE CASCADE
);
CREATE TABLE IF NOT EXISTS masks (
    frame INTEGER NOT NULL,
    object_id INTEGER NOT NULL REFERENCES objects(object_id) ON DELETE CASCADE,
    rle TEXT NOT NULL,
    shape TEXT,
    score REAL,
    source TEXT NOT NULL,
    PRIMARY KEY (frame, object_id)
);
CREATE INDEX IF NOT EXISTS masks_by_object ON masks(object_id, frame);
CREATE TABLE IF NOT EXISTS prompts (
    prompt_id INTEGER PRIMARY KEY AUTOINCREMENT,
    frame INTEGER NOT NULL,
    object_id INTEGER NOT NULL REFERENCES objects(object_id) ON DELETE CASCADE,
    points TEXT NOT NULL,
    box TEXT
);
CREATE TABLE IF NOT EXISTS presence (
    frame INTEGER NOT NULL,
    object_id INTEGER NOT NULL REFERENCES objects(object_id) ON DELETE CASCADE,
    presence REAL NOT NULL,
    iou REAL,
    PRIMARY KEY (frame, object_id)
);
