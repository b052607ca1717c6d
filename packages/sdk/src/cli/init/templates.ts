/** What `gf init` writes: a job file and a profile, each commented so it teaches its format. */
export const INIT_FILES = {
  "hello.md": `---
# A Gigafactory job: YAML frontmatter, then the instructions.
# Editors can check this frontmatter against \`gf schema job-file\` (a JSON Schema).
title: Say hello
engine: shell              # shell | claude-code | codex | aider
idempotency-key: hello-1   # the same key gives the same job, never a second one
priority: normal           # a number, or low | normal | high | urgent
timeout: 2m                # 90s, 3h, 1h30m
max-attempts: 2
# verify: ["test -f README.md"]   # gates that must exit 0 before the job ships
# repo: /path/to/a/git/repo       # run in a git worktree of this repository
# network: false                  # no network for the engine and its gates
# profile: example-engineer       # a published profile (see profile.yaml)
---
# For the shell engine the body is a bash script (bash -euo pipefail): prose goes in
# comments. For an agent engine (claude-code, codex, aider) it is the prompt, verbatim.
echo "hello from $(hostname)"
echo "working in $PWD"
`,
  "profile.yaml": `# A profile: how an agent engine works, published once, pinned by the jobs that name it.
# Publish it with \`gf profiles publish profile.yaml\`; each publish makes a new version, and a
# job file says \`profile: example-engineer\` (the current version) or \`example-engineer@2\`.
name: example-engineer
snapshot:
  engine: claude-code        # the engine jobs with this profile run on
  maxTurns: 40
  allowedTools: [Read, Edit, Write, Bash, Grep, Glob]
  persona: |
    You are a careful engineer. Read the surrounding code first, follow its
    conventions, keep changes small, and leave the tests green.
`,
} as const;
