"""The simulated PBX: an AMI server on a loopback socket and randomised Asterisk 22 traffic. For the demo,
the tests and the benchmarks; the production AMI path never imports it."""
