#!/usr/bin/env bash
# Packages the eleven Lambda functions as prebuilt artefacts (docs/installation.md, "Prebuilt
# release"): the one binary every function runs, `deploybot-lambda` (ADR 0022), as one zip
# holding exactly one `bootstrap`, and a packaged template whose eleven CodeUris point at that
# zip (each function's DEPLOYBOT_FUNCTION says which it is), so that an operator deploys with
# the SAM CLI alone.
#
#   scripts/package.sh [--profile release|dev] [--arch x86_64|arm64] [--binaries DIR] [--out DIR]
#
#   --profile   cargo profile to build with (default release). scripts/test uses `dev`: its
#               nextest run has built the dependencies already, so packaging costs one link,
#               the zip and the checks.
#   --arch      the architecture the binary is for (default x86_64); names the zip and is
#               the packaged template's Architecture default.
#   --binaries  take the binary from DIR instead of building: DIR/deploybot-lambda/bootstrap
#               (cargo lambda build's layout, target/lambda) or DIR/deploybot-lambda. The
#               release workflow builds with cargo-lambda for x86_64 and arm64 and packages each.
#   --out       where the zips and packaged-template.yaml go (default dist/<arch>).
#
# Without --binaries, `deploybot-lambda` is built: one whole-program (LTO) link for all eleven
# functions (docs/performance.md, "Release build").
#
# Then it checks what it made: the zip lists exactly `bootstrap` (executable), which refuses to
# start without DEPLOYBOT_FUNCTION when it can run here, and the
# packaged template passes cfn-lint and `sam validate --lint`. Fails, never skips.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

export DEPLOYBOT_CACHE="${DEPLOYBOT_CACHE:-$HOME/.cache/deploybot}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$DEPLOYBOT_CACHE/target}"

PROFILE=release
ARCH=x86_64
BINARIES=""
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --arch) ARCH="$2"; shift 2 ;;
    --binaries) BINARIES="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$ARCH" in
  x86_64 | arm64) ;;
  *) echo "package.sh: --arch is x86_64 or arm64, not $ARCH" >&2; exit 2 ;;
esac
OUT="${OUT:-$ROOT/dist/$ARCH}"

# The functions: every package under functions/ (template.yaml has one resource per package;
# crates/aws/tests/aws/template.rs checks that). They all run the one binary.
FUNCTIONS=()
for dir in functions/*/; do
  FUNCTIONS+=("$(basename "$dir")")
done
if [[ ${#FUNCTIONS[@]} -ne 11 ]]; then
  echo "package.sh: expected eleven functions under functions/, found ${#FUNCTIONS[@]}" >&2
  exit 1
fi

if [[ -z "$BINARIES" ]]; then
  LOCKED=()
  [[ -f Cargo.lock ]] && LOCKED=(--locked)
  echo "==> cargo build --profile $PROFILE -p deploybot-lambda (the one binary of the eleven functions)"
  cargo build "${LOCKED[@]}" --profile "$PROFILE" -p deploybot-lambda
  case "$PROFILE" in
    dev | test) BINARIES="$CARGO_TARGET_DIR/debug" ;;
    *) BINARIES="$CARGO_TARGET_DIR/$PROFILE" ;;
  esac
fi

rm -rf "$OUT"
mkdir -p "$OUT"
echo "==> zips in $OUT"
python3 - "$BINARIES" "$OUT" "$ARCH" <<'PY'
import os, sys, zipfile
binaries, out, arch = sys.argv[1], sys.argv[2], sys.argv[3]
for f in ["deploybot-lambda"]:
    candidates = [os.path.join(binaries, f, "bootstrap"), os.path.join(binaries, f)]
    source = next((c for c in candidates if os.path.isfile(c)), None)
    if source is None:
        sys.exit(f"package.sh: no binary {f} in {binaries} (looked for {candidates})")
    target = os.path.join(out, f"{f}-{arch}.zip")
    # One entry, `bootstrap`, executable, with a fixed date: the same binary gives the same zip.
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(source, "rb") as binary, zipfile.ZipFile(target, "w") as z:
        z.writestr(info, binary.read())
    print(f"    {os.path.basename(target)}  {os.path.getsize(target) // 1024} KiB")
PY

echo "==> packaged-template.yaml"
python3 - "$ROOT/template.yaml" "$OUT/packaged-template.yaml" "$ARCH" "${FUNCTIONS[@]}" <<'PY'
import re, sys
source, target, arch, functions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
text = open(source).read()
block = re.compile(
    r"    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n"
    r"        Binary: (?P<binary>[a-z-]+)\n    Properties:\n(?P<body>(?:      .*\n|\n)*?)      CodeUri: \.\n"
)
def to_zip(m):
    if m.group("binary") != "deploybot-lambda":
        sys.exit(f"package.sh: a function builds {m.group('binary')}, not deploybot-lambda")
    return f"    Properties:\n{m.group('body')}      CodeUri: deploybot-lambda-{arch}.zip\n"
text, built = block.subn(to_zip, text)
seen = re.findall(r"\n          DEPLOYBOT_FUNCTION: ([a-z-]+)\n", text)
if built != len(functions) or sorted(seen) != sorted(functions):
    sys.exit(f"package.sh: template functions {sorted(seen)} ({built} built) are not {sorted(functions)}")
if "rust-cargolambda" in text or "CodeUri: .\n" in text:
    sys.exit("package.sh: a function of the template still builds from source")
default = re.compile(r"(  Architecture:\n    Type: String\n    Default: )x86_64\n")
if not default.search(text):
    sys.exit("package.sh: the template's Architecture parameter was not found")
text = default.sub(lambda m: m.group(1) + arch + "\n", text, count=1)
header = (
    "# Packaged by scripts/package.sh from template.yaml: every function's code is a prebuilt\n"
    f"# zip beside this file ({arch}). Deploy with `sam deploy --template-file packaged-template.yaml`.\n"
)
open(target, "w").write(header + text)
PY

echo "==> checks"
for f in deploybot-lambda; do
  zip="$OUT/$f-$ARCH.zip"
  entries="$(unzip -Z1 "$zip")"
  if [[ "$entries" != "bootstrap" ]]; then
    echo "package.sh: $zip holds [$entries], not exactly one bootstrap" >&2
    exit 1
  fi
  mode="$(unzip -Z "$zip" bootstrap | awk '{print $1}')"
  if [[ "$mode" != -rwx* ]]; then
    echo "package.sh: bootstrap in $zip is not executable ($mode)" >&2
    exit 1
  fi
done
echo "    the zip holds exactly one executable bootstrap"
# The binary runs here when it is built for this machine: started without DEPLOYBOT_FUNCTION it
# must refuse, naming the variable (each function's template entry sets it).
host="$(uname -m)"
if [[ "$host" == "$ARCH" || ( "$host" == aarch64 && "$ARCH" == arm64 ) ]]; then
  unpacked="$(mktemp -d "${TMPDIR:-/tmp}/deploybot-package.XXXXXX")"
  unzip -q "$OUT/deploybot-lambda-$ARCH.zip" -d "$unpacked"
  status=0
  said="$(env -i PATH="$PATH" timeout 20 "$unpacked/bootstrap" 2>&1 >/dev/null)" || status=$?
  rm -rf "$unpacked"
  if [[ $status -eq 0 || "$said" != *"DEPLOYBOT_FUNCTION is not set; set it to one of: slack-command,"* ]]; then
    echo "package.sh: bootstrap without DEPLOYBOT_FUNCTION exited $status saying: $said" >&2
    exit 1
  fi
  echo "    bootstrap without DEPLOYBOT_FUNCTION refuses to start, naming it"
fi
# cfn-lint and sam come from scripts/tools.sh (on PATH after deploybot_tools_install).
if ! command -v cfn-lint >/dev/null || ! command -v sam >/dev/null; then
  # shellcheck source=scripts/tools.sh
  source "$ROOT/scripts/tools.sh"
  deploybot_tools_install
fi
(cd "$OUT" && cfn-lint packaged-template.yaml)
echo "    cfn-lint packaged-template.yaml"
(cd "$OUT" && sam validate --lint --template packaged-template.yaml --region us-east-1 >/dev/null)
echo "    sam validate --lint packaged-template.yaml"
