"""Helpers the tests share: commands, servers and external tools, MVT decoding, oracles."""
