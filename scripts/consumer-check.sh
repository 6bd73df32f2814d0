#!/usr/bin/env bash
# npm run consumer-check: lifeline-supervisor as its users get it. Packs the package (checking it ships only
# dist/, package.json, README, LICENSE and CHANGELOG, and README images by absolute URL), installs the tarball into a
# fresh project outside the repository (with typescript and @types/node from the registry, and neither
# @opentelemetry/api nor @types/ws), type-checks scripts/consumer-check/consumer.ts there with strict tsc
# and skipLibCheck: false, compiles it and runs it with plain node against the testing kit's fault
# servers on 127.0.0.1. Exits non-zero on any failure; every step is bounded in time.
# KEEP=1 keeps the temporary project (its path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/lifeline-consumer.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then echo "consumer-check: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
step() { echo "consumer-check: $* ($((SECONDS - started)) s)"; }

# The same compiler and Node types the repository builds with, from the registry.
ts_version=$(node -p "require('typescript/package.json').version")
node_types=$(node -p "require('@types/node/package.json').version")

step "npm pack"
timeout 300 npm run --silent build
timeout 120 npm pack --ignore-scripts --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/lifeline-supervisor-*.tgz)

# What ships.
mkdir "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
# Only what a user needs: the package's own files and dist/ (JavaScript, declarations, source maps with
# their sources inlined). No tests, sources, scripts, bench or pictures.
extra=$(cd "$work/unpacked/package" && find . -type f \
  ! -name package.json ! -name README.md ! -name LICENSE ! -name CHANGELOG.md \
  ! \( -path './dist/*' \( -name '*.js' -o -name '*.d.ts' -o -name '*.js.map' \) \) | sort)
if [ -n "$extra" ]; then
  echo "consumer-check: the tarball ships files a user does not need:" >&2
  echo "$extra" >&2
  exit 1
fi
for needed in package.json README.md LICENSE CHANGELOG.md dist/index.js dist/index.d.ts dist/testing/index.js; do
  [ -f "$work/unpacked/package/$needed" ] || { echo "consumer-check: the tarball lacks $needed" >&2; exit 1; }
done
# The README as the registry shows it: every image is an absolute URL (a relative one resolves nowhere there).
relative=$(grep -noE '!\[[^]]*\]\([^)]*\)' "$work/unpacked/package/README.md" | grep -vE '\]\(https://' || true)
if [ -n "$relative" ]; then
  echo "consumer-check: README images that do not resolve from the registry:" >&2
  echo "$relative" >&2
  exit 1
fi
# No declaration names an internal, OpenTelemetry or ws.
leaks=$(grep -rlE "@internal|from '@opentelemetry/|import\(\"@opentelemetry/|from 'ws'|import\(\"ws\"\)" --include='*.d.ts' "$work/unpacked/package/dist" || true)
if [ -n "$leaks" ]; then
  echo "consumer-check: declarations that name an internal, @opentelemetry/api or ws:" >&2
  grep -nHE "@internal|from '@opentelemetry/|import\(\"@opentelemetry/|from 'ws'|import\(\"ws\"\)" $leaks >&2
  exit 1
fi

step "npm install (lifeline-supervisor tarball, typescript@$ts_version, @types/node@$node_types)"
app="$work/app"
mkdir "$app"
cat >"$app/package.json" <<'JSON'
{ "name": "lifeline-consumer", "version": "0.0.0", "private": true, "type": "module" }
JSON
(cd "$app" && timeout 300 npm install --no-audit --no-fund --loglevel=error "$tarball" "typescript@$ts_version" "@types/node@$node_types" >/dev/null)
for absent in @opentelemetry/api @types/ws; do
  if [ -e "$app/node_modules/$absent" ]; then
    echo "consumer-check: $absent got installed: the check would prove nothing" >&2
    exit 1
  fi
done

cat >"$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022"],
    "types": ["node"],
    "strict": true,
    "skipLibCheck": false,
    "noUnusedLocals": true,
    "outDir": "dist"
  },
  "files": ["index.ts"]
}
JSON
cp scripts/consumer-check/consumer.ts "$app/index.ts"
# Every DEFAULT_* the README names must be exported from the main entry: the consumer checks each.
grep -oE '\bDEFAULT_[A-Z0-9_]+\b' README.md | sort -u | node -e "
  const names = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
  require('fs').writeFileSync(process.argv[1], JSON.stringify(names));
" "$app/readme-defaults.json"

step "tsc (strict, skipLibCheck: false)"
(cd "$app" && timeout 180 npx --no-install tsc -p tsconfig.json)

step "node dist/index.js"
(cd "$app" && timeout 90 node dist/index.js)

step "ok"
