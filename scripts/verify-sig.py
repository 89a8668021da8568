#!/usr/bin/env python3
"""Independent check of a rigbench ticket signature with eth-account (PyPI).

usage: scripts/verify-sig.py HASH SIG ADDRESS
  HASH     the 32-byte ticket hash, 0x-hex (what `rigbench ticket hash` prints)
  SIG      the 65-byte signature, 0x-hex (what `rigbench ticket sign` prints)
  ADDRESS  the expected signer

Recovers the EIP-191 personal-sign signer of HASH from SIG and exits 0 when it is ADDRESS,
1 when it is not (or the signature is malformed: wrong length, v not 27/28, high s), 2 on a
usage error or when eth-account is missing.
"""
import sys

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        from eth_account import Account
        from eth_account.messages import encode_defunct
    except ImportError:
        print("eth-account is not installed: pip install eth-account", file=sys.stderr)
        return 2
    _, hash_hex, sig_hex, address = argv
    try:
        digest = bytes.fromhex(hash_hex.removeprefix("0x"))
        sig = bytes.fromhex(sig_hex.removeprefix("0x"))
    except ValueError as e:
        print(f"not hex: {e}", file=sys.stderr)
        return 2
    if len(digest) != 32:
        print(f"hash is {len(digest)} bytes, need 32", file=sys.stderr)
        return 2
    if len(sig) != 65:
        print(f"invalid: signature is {len(sig)} bytes, need 65")
        return 1
    if sig[64] not in (27, 28):
        print(f"invalid: v is {sig[64]}, need 27 or 28")
        return 1
    if int.from_bytes(sig[32:64], "big") > SECP256K1_N // 2:
        print("invalid: high s")
        return 1
    try:
        signer = Account.recover_message(encode_defunct(primitive=digest), signature=sig)
    except Exception as e:  # eth-account raises several types for malformed signatures
        print(f"invalid: {e}")
        return 1
    if signer.lower() != address.lower():
        print(f"invalid: signed by {signer}, not {address}")
        return 1
    print(f"valid: signed by {signer}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
