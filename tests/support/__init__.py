"""What the test suites share: constants, backends, polling, servers and fixture plugins."""
