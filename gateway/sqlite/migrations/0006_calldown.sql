-- Issue 20: the call-down a console replaced (calldown/replace), one
-- document; its version is in registers (name 'calldown'). Empty: the
-- config's is in force.
CREATE TABLE calldown (doc TEXT NOT NULL) STRICT;
