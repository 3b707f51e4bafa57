#!/usr/bin/env bash
# Runs the GTK demo without a display: under Xvfb with GTK's cairo (software) renderer,
# driven by its `--script` mode. Takes a screenshot mid-run and checks the summary it prints.
#
#   demos/gtk/run-headless.sh [SECONDS]      # default 6
#
# Environment: SCREENSHOT (where the PNG goes; default demos/gtk/target/gtk-demo.png),
# MAX_STALL_MS (the longest main-loop stall allowed while tasks run; default 100).
# Fails on: no summary, a blank screenshot, a stall over the limit, a task without exactly
# one outcome, a callback that ran off the main thread or never ran, or a run that gave up.
set -euo pipefail
cd "$(dirname "$0")"
source ../headless.sh

seconds="${1:-6}"
screenshot="${SCREENSHOT:-target/gtk-demo.png}"
max_stall_ms="${MAX_STALL_MS:-100}"
# The window's size (src/window.rs) and place (no window manager: the top left corner).
window="1000x680+0+0"

install_missing jq xvfb xauth x11-apps imagemagick libgtk-4-dev
demo="$(build gtk-demo)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# GL on llvmpipe stalls tens of ms at start; cairo draws steadily. No accessibility bus.
export GSK_RENDERER=cairo GTK_A11Y=none
status=0
run_scripted "$demo" "$seconds" "$log" "$screenshot" "$window" || status=$?
[ "$status" -eq 0 ] || fail "the demo exited with status $status"

summary="$(grep '^summary:' "$log")" || fail "no summary line: the demo did not run to the end"
frames="$(field frames "$summary")"
stall="$(field longest_stall_ms "$summary")"
tasks="$(field tasks "$summary")"
without="$(field without_outcome "$summary")"
extra="$(field extra_outcomes "$summary")"
off_main="$(field off_main_callbacks "$summary")"
rows="$(field rows "$summary")"
rows_shown="$(field rows_shown "$summary")"
ended="$(field ended "$summary")"

check_drawn "$screenshot"
[ "$ended" = finished ] || fail "the run ended '$ended', not with every outcome in"
[ "$frames" -ge 30 ] || fail "only $frames frames drawn"
[ "$stall" -le "$max_stall_ms" ] ||
    fail "a main-loop stall of $stall ms while tasks ran (limit $max_stall_ms ms)"
[ "$tasks" -ge 15 ] ||
    fail "only $tasks tasks recorded (the script starts 12 hashes and at least 3 searches)"
[ "$without" -eq 0 ] || fail "$without tasks ended without an outcome"
[ "$extra" -eq 0 ] || fail "$extra tasks had more than one outcome"
[ "$off_main" -eq 0 ] || fail "$off_main callbacks ran off the main thread"
[ "$rows_shown" -eq "$rows" ] ||
    fail "only $rows_shown of $rows rows show their outcome: local callbacks were lost"

echo "run-headless: ok: $frames frames, longest stall $stall ms while tasks ran," \
    "$tasks tasks each with one outcome, every callback on the main thread; screenshot $screenshot"
