# Shared by the bench scripts: `source bench/lib.sh`.
# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
