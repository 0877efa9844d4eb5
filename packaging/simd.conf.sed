# simd.conf.sed - turns etc/simd.conf (every key commented out: the defaults) into the
# simd.conf that simd.service reads, as "make install" and the Debian package install it.
# The service runs as user simd and takes /var/lib/simd and /run/simd from systemd (its
# -d and -s pin them there); socket_group has no flag nor environment variable, so this
# file is where members of group simd get the right to use simctl.
1a\
#\
# As installed for simd.service: socket, socket_group and data_dir are set below to\
# what the service uses (it also passes them as -s and -d); simd@NAME.service reads a\
# copy of this file named simd-NAME.conf.
s|^# socket = ""$|socket = /run/simd/simd.sock|
s|^# socket_group = ""$|socket_group = simd|
s|^# data_dir = ""$|data_dir = /var/lib/simd|
