// WebTests
