import assert from "node:assert/strict";
import { deniedByTheSystem } from "../lib/cli/errors.ts";

/** What Deno says when the system refuses (EACCES), as Deno 2 words it: `OP 'PATH'` or `OP 'FROM' -> 'TO'`. */
const denied = (what: string) => `Permission denied (os error 13): ${what}`;
const WRITE_ADVICE = "(give --logs a folder this user can write, or change its permissions)";
const READ_ADVICE = "(this user may not read it: change its permissions, or run as a user who may)";

Deno.test("deniedByTheSystem() names a write, the file and what to do in one sentence", () => {
  assert.equal(
    deniedByTheSystem(denied("writefile '/srv/logs/01-echo-threaded.md'")),
    `Cannot write /srv/logs/01-echo-threaded.md: permission denied ${WRITE_ADVICE}`,
  );
  assert.equal(
    deniedByTheSystem(denied("mkdir '/srv/logs'")),
    `Cannot create the folder /srv/logs: permission denied ${WRITE_ADVICE}`,
  );
});

Deno.test("deniedByTheSystem() names both paths of a rename or a copy", () => {
  assert.equal(
    deniedByTheSystem(denied("rename '/srv/logs/a.tmp' -> '/srv/logs/a'")),
    `Cannot rename /srv/logs/a.tmp to /srv/logs/a: permission denied ${WRITE_ADVICE}`,
  );
  assert.equal(
    deniedByTheSystem(denied("copy '/srv/a.ts' -> '/srv/logs/a.ts'")),
    `Cannot copy /srv/a.ts to /srv/logs/a.ts: permission denied ${WRITE_ADVICE}`,
  );
});

Deno.test("deniedByTheSystem() gives a refused read advice about reading, not writing", () => {
  assert.equal(
    deniedByTheSystem(denied("readfile '/srv/attempt.ts'")),
    `Cannot read /srv/attempt.ts: permission denied ${READ_ADVICE}`,
  );
  assert.equal(
    deniedByTheSystem(denied("stat '/srv/attempt.ts'")),
    `Cannot read /srv/attempt.ts: permission denied ${READ_ADVICE}`,
  );
  assert.equal(
    deniedByTheSystem(denied("readdir '/srv/logs'")),
    `Cannot list /srv/logs: permission denied ${READ_ADVICE}`,
  );
});

Deno.test("deniedByTheSystem() keeps the name of an operation it has no word for", () => {
  assert.equal(
    deniedByTheSystem(denied("chown '/srv/logs'")),
    `Cannot chown /srv/logs: permission denied ${WRITE_ADVICE}`,
  );
});

Deno.test("deniedByTheSystem() passes on a message of another shape whole", () => {
  assert.equal(
    deniedByTheSystem("Permission denied (os error 13)"),
    "Not permitted: Permission denied (os error 13)",
  );
  // A quote inside a path: the message cannot be split reliably.
  assert.equal(
    deniedByTheSystem(denied("writefile '/srv/it's/a'")),
    `Not permitted: ${denied("writefile '/srv/it's/a'")}`,
  );
});

Deno.test("deniedByTheSystem() says one sentence: no full stop inside or at the end", () => {
  for (const what of ["writefile '/a'", "rename '/a' -> '/b'", "readfile '/a'", "chown '/a'"]) {
    const said = deniedByTheSystem(denied(what));
    assert.doesNotMatch(said, /\.( |$)/, said);
    assert.match(said, /^Cannot /, said);
  }
});
