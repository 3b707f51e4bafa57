#!/usr/bin/env bash
# Runs the egui demo without a display: under Xvfb with Mesa's software GL, driven by its
# `--script` mode. Takes a screenshot mid-run and checks the summary the demo prints.
#
#   demos/egui/run-headless.sh [SECONDS]      # default 6
#
# Environment: SCREENSHOT (where the PNG goes; default demos/egui/target/egui-demo.png),
# MAX_GAP_MS (the longest frame gap allowed while tasks run; default 100).
# Fails when the window did not draw, a frame gap is too long, or a task has no outcome.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-6}"
screenshot="${SCREENSHOT:-target/egui-demo.png}"
max_gap_ms="${MAX_GAP_MS:-100}"
# The window's size and place (src/main.rs): the screenshot is cropped to it.
window="1180x640+0+0"

fail() {
    echo "run-headless: FAILED: $*" >&2
    exit 1
}

# What the run needs, from Debian's packages, installed when missing.
packages=(jq xvfb xauth x11-apps imagemagick libgl1-mesa-dri libegl1 libgl1 libxkbcommon-x11-0)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
        missing+=("$package")
done
if ((${#missing[@]})); then
    echo "run-headless: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
fi

cargo build --release --locked
# Wherever cargo put it: CARGO_TARGET_DIR, a config file, or ./target.
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | jq -r .target_directory)
demo="$target_dir/release/egui-demo"

log="$(mktemp)"
trap 'rm -f "$log" "$log.xwd"' EXIT
mkdir -p "$(dirname "$screenshot")"
rm -f "$screenshot"

# Inside the virtual display: start the demo, wait for it to say that its tasks are
# running, photograph the screen, then wait for the demo to close its window.
export LIBGL_ALWAYS_SOFTWARE=1
status=0
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    "$4" --script "$1" >"$2" &
    demo=$!
    for _ in $(seq 600); do
        grep -q "screenshot now" "$2" && break
        kill -0 "$demo" 2>/dev/null || break
        sleep 0.05
    done
    # Only the raw dump now; converting it costs CPU the demo is being timed on.
    if grep -q "screenshot now" "$2"; then xwd -root -silent -out "$3"; fi
    wait "$demo"
' run-headless "$seconds" "$log" "$log.xwd" "$demo" || status=$?
cat "$log"
if [ -s "$log.xwd" ]; then
    convert "xwd:$log.xwd" -crop "$window" +repage "$screenshot"
fi
[ "$status" -eq 0 ] || fail "the demo exited with status $status"

# The checks.
summary="$(grep '^summary:' "$log")" || fail "no summary line: the demo did not run to the end"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$summary"; }
frames="$(field frames)"
gap="$(field longest_gap_ms)"
tasks="$(field tasks)"
without="$(field without_outcome)"
extra="$(field extra_outcomes)"

[ -s "$screenshot" ] || fail "no screenshot was taken"
# A window that drew shows text and bars: a blank or single-colour screen has no spread.
spread="$(convert "$screenshot" -colorspace Gray -format '%[fx:standard_deviation]' info:)"
awk -v s="$spread" 'BEGIN { exit !(s > 0.02) }' ||
    fail "the screenshot is blank (grey spread $spread): the window did not draw"
[ "$frames" -ge 30 ] || fail "only $frames frames drawn"
[ "$gap" -le "$max_gap_ms" ] || fail "a frame gap of $gap ms while tasks ran (limit $max_gap_ms ms)"
[ "$tasks" -ge 12 ] || fail "only $tasks tasks recorded (the script starts 12)"
[ "$without" -eq 0 ] || fail "$without tasks ended without an outcome"
[ "$extra" -eq 0 ] || fail "$extra tasks had more than one outcome"

echo "run-headless: ok: $frames frames, longest gap $gap ms while tasks ran," \
    "$tasks tasks each with one outcome; screenshot $screenshot"
