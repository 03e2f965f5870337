# xvfb.sh - sourced by the viewer's CLI tests: starts our own Xvfb on the first free
# display number in FIRST..LAST (tests running side by side use disjoint ranges),
# exports DISPLAY, and stops the server when the test exits. The screen is 1280x1024
# unless a fourth argument gives another WxH.
#   . "$AV_SRC/tests/xvfb.sh"; av_start_xvfb 90 160 "$T/xvfb.log" [1024x600]
av_start_xvfb() {
  xpid=
  for n in $(seq "$1" "$2"); do
    [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
    Xvfb ":$n" -screen 0 "${4:-1280x1024}x24" -nolisten tcp >"$3" 2>&1 &
    xpid=$!
    for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
    if [ -e "/tmp/.X11-unix/X$n" ] && kill -0 $xpid 2>/dev/null; then export DISPLAY=":$n"; break; fi
    kill $xpid 2>/dev/null; wait $xpid 2>/dev/null; xpid=
  done
  [ -n "$xpid" ] || { echo "FAIL: could not start Xvfb"; exit 1; }
  xpids="${xpids:-} $xpid"  # every server this test started goes at exit
  trap 'kill $xpids 2>/dev/null; wait $xpids 2>/dev/null' EXIT
}
