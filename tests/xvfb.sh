# xvfb.sh - sourced by the viewer's CLI tests: starts our own Xvfb on the first free
# display number in FIRST..LAST (tests running side by side use disjoint ranges),
# exports DISPLAY, and stops the server when the test exits.
#   . "$AV_SRC/tests/xvfb.sh"; av_start_xvfb 90 160 "$T/xvfb.log"
av_start_xvfb() {
  xpid=
  for n in $(seq "$1" "$2"); do
    [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
    Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp >"$3" 2>&1 &
    xpid=$!
    for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
    if [ -e "/tmp/.X11-unix/X$n" ] && kill -0 $xpid 2>/dev/null; then export DISPLAY=":$n"; break; fi
    kill $xpid 2>/dev/null; wait $xpid 2>/dev/null; xpid=
  done
  [ -n "$xpid" ] || { echo "FAIL: could not start Xvfb"; exit 1; }
  trap 'kill $xpid 2>/dev/null; wait $xpid 2>/dev/null' EXIT
}
