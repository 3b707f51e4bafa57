#!/usr/bin/env bash
# Runs the egui demo without a display: under Xvfb with Mesa's software GL, driven by its
# `--script` mode. Takes a screenshot mid-run and checks the summary the demo prints.
#
#   demos/egui/run-headless.sh [SECONDS]      # default 6
#
# Environment: SCREENSHOT (where the PNG goes; default demos/egui/target/egui-demo.png),
# MAX_GAP_MS (the longest frame gap allowed while tasks run; default 100).
# Fails when the window did not draw, a frame gap is too long, a task has no outcome, a
# callback ran after its panel's scope was dropped, or the download panel's Cancel button
# did not land by the next frame (every download's outcome shown, their sockets closed), or
# the report panel's chain (load, then parse, then render) was not cancelled as a whole by
# the panel's close.
set -euo pipefail
cd "$(dirname "$0")"
source ../headless.sh

seconds="${1:-6}"
screenshot="${SCREENSHOT:-target/egui-demo.png}"
max_gap_ms="${MAX_GAP_MS:-100}"
# The window's size and place (src/main.rs): the screenshot is cropped to it.
window="1180x640+0+0"

install_missing jq xvfb xauth x11-apps imagemagick libgl1-mesa-dri libegl1 libgl1 \
    libxkbcommon-x11-0
demo="$(build egui-demo)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

export LIBGL_ALWAYS_SOFTWARE=1
status=0
run_scripted "$demo" "$seconds" "$log" "$screenshot" "$window" || status=$?
[ "$status" -eq 0 ] || fail "the demo exited with status $status"

summary="$(grep '^summary:' "$log")" || fail "no summary line: the demo did not run to the end"
frames="$(field frames "$summary")"
gap="$(field longest_gap_ms "$summary")"
tasks="$(field tasks "$summary")"
without="$(field without_outcome "$summary")"
extra="$(field extra_outcomes "$summary")"
late="$(field late_callbacks "$summary")"
downloads="$(grep '^downloads:' "$log")" || fail "no downloads line in the summary"
completed="$(field completed "$downloads")"
not_found="$(field not_found "$downloads")"
cancelled="$(field cancelled "$downloads")"
cancel_frames="$(field cancel_frames "$downloads")"
cancel_ms="$(field cancel_ms "$downloads")"
closed="$(field closed_by_cancel "$downloads")"

check_drawn "$screenshot"
[ "$frames" -ge 30 ] || fail "only $frames frames drawn"
[ "$gap" -le "$max_gap_ms" ] || fail "a frame gap of $gap ms while tasks ran (limit $max_gap_ms ms)"
[ "$tasks" -ge 13 ] || fail "only $tasks tasks recorded (the script starts 13)"
[ "$without" -eq 0 ] || fail "$without tasks ended without an outcome"
[ "$extra" -eq 0 ] || fail "$extra tasks had more than one outcome"
[ "$late" -eq 0 ] || fail "$late callbacks ran after their panel's scope was dropped"
[ "$completed" -ge 1 ] || fail "no download completed before the Cancel button"
[ "$not_found" -eq 1 ] || fail "$not_found downloads failed with ERR_HTTP_STATUS (1 asks for a missing file)"
[ "$cancelled" -ge 1 ] || fail "the Cancel button found no download running"
[ "$cancel_frames" != none ] || fail "the downloads' outcomes never all reached the window"
# The press's own frame decides the tasks; their signals are delivered in the next one.
[ "$cancel_frames" -le 1 ] ||
    fail "the downloads' outcomes reached the window $cancel_frames frames after Cancel (limit 1)"
[ "$closed" -ge 1 ] || fail "the server saw no cancelled download's connection close"
# Closed mid-chain: the step running and the ones waiting behind it are cancelled.
outcomes="$(field outcomes "$summary")"
grep -q "render-report:cancelled" <<<"$outcomes" ||
    fail "the report's last step was not cancelled by the panel's close ($outcomes)"

echo "run-headless: ok: $frames frames, longest gap $gap ms while tasks ran," \
    "$tasks tasks each with one outcome; Cancel landed in $cancel_frames frame(s)" \
    "($cancel_ms ms, $cancelled downloads, $closed sockets closed); screenshot $screenshot"
