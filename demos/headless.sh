# Shared by the demos' run-headless.sh scripts (sourced, not run): install what a headless
# run needs, build the demo, run it scripted under Xvfb with a screenshot taken from outside
# the process, and check that the screenshot shows a drawn window.

fail() {
    echo "run-headless: FAILED: $*" >&2
    exit 1
}

# install_missing PACKAGE...: installs, with apt, the Debian packages that are missing.
install_missing() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    echo "run-headless: installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

# build BINARY: builds the demo in the current directory and prints the binary's path,
# wherever cargo puts it (CARGO_TARGET_DIR, a config file, or ./target).
build() {
    cargo build --release --locked >&2
    local target_dir
    target_dir=$(cargo metadata --format-version 1 --no-deps --locked | jq -r .target_directory)
    echo "$target_dir/release/$1"
}

# run_scripted DEMO SECONDS LOG SCREENSHOT WINDOW: runs `DEMO --script SECONDS` in a virtual
# display, its output to LOG; when it prints "screenshot now", photographs the screen (from
# outside: a toolkit's own snapshot would block its main loop) and crops WINDOW
# (WxH+X+Y) into SCREENSHOT. Returns the demo's exit status.
run_scripted() {
    local demo="$1" seconds="$2" log="$3" screenshot="$4" window="$5" status=0
    mkdir -p "$(dirname "$screenshot")"
    rm -f "$screenshot" "$log.xwd"
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
    rm -f "$log.xwd"
    return "$status"
}

# check_drawn SCREENSHOT: fails unless the screenshot exists and shows something: a window
# that drew has text and bars, a blank or single-colour screen has no spread.
check_drawn() {
    [ -s "$1" ] || fail "no screenshot was taken"
    local spread
    spread="$(convert "$1" -colorspace Gray -format '%[fx:standard_deviation]' info:)"
    awk -v s="$spread" 'BEGIN { exit !(s > 0.02) }' ||
        fail "the screenshot is blank (grey spread $spread): the window did not draw"
}

# field NAME SUMMARY: the value of `NAME=value` in a summary line.
field() {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}
