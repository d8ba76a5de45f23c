#!/bin/sh
# ~/.xsessionrc of the gallery user (sourced by the X session at login): the screen never
# blanks and never sleeps. The show's window hides the cursor itself; -nocursor on the X
# server (see 50-vernissage-autologin.conf) hides it before the show starts too.
xset s off
xset s noblank
xset -dpms
