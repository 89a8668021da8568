#!/usr/bin/env node
// Compiles contracts/TicketBroker.sol with solc-js (npm package `solc`, pinned below) into the
// artefact rigbench embeds: {abi, bytecode, deployedBytecode, compiler, optimizer, evmVersion,
// sourceSha256}. Deterministic: same source + same compiler = same bytes.
//
// usage: node contracts/compile.js [--out FILE]      (default: fixtures/contracts/TicketBroker.json)
// solc is looked up in $RIGBENCH_SOLC_DIR, then .cache/solc (scripts/build-contracts installs it
// there), then the usual node resolution (a global `npm install -g solc@0.8.24`).
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const COMPILER = '0.8.24';
const OPTIMIZER = { enabled: true, runs: 200 };
const EVM_VERSION = 'shanghai';
const SOURCE_KEY = 'contracts/TicketBroker.sol';

const repo = path.resolve(__dirname, '..');

function loadSolc() {
  const candidates = [];
  if (process.env.RIGBENCH_SOLC_DIR) {
    candidates.push(path.join(process.env.RIGBENCH_SOLC_DIR, 'node_modules', 'solc'));
  }
  candidates.push(path.join(repo, '.cache', 'solc', 'node_modules', 'solc'));
  candidates.push('solc');
  for (const c of candidates) {
    try {
      return require(c);
    } catch (_) {
      // try the next place
    }
  }
  console.error(
    `solc-js not found; install it with: npm install --no-save --prefix .cache/solc solc@${COMPILER}`
  );
  process.exit(3);
}

function main() {
  const args = process.argv.slice(2);
  let out = path.join(repo, 'fixtures', 'contracts', 'TicketBroker.json');
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out' && i + 1 < args.length) {
      out = path.resolve(args[++i]);
    } else {
      console.error(`unknown argument ${args[i]}; usage: compile.js [--out FILE]`);
      process.exit(2);
    }
  }

  const solc = loadSolc();
  const version = solc.version();
  if (!version.startsWith(COMPILER + '+')) {
    console.error(`solc-js ${version} found, but ${COMPILER} is pinned; install solc@${COMPILER}`);
    process.exit(3);
  }

  const source = fs.readFileSync(path.join(repo, SOURCE_KEY));
  const input = {
    language: 'Solidity',
    sources: { [SOURCE_KEY]: { content: source.toString('utf8') } },
    settings: {
      optimizer: OPTIMIZER,
      evmVersion: EVM_VERSION,
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    console.error(e.formattedMessage);
  }
  if (errors.length > 0) {
    process.exit(1);
  }
  const contract = output.contracts[SOURCE_KEY].TicketBroker;
  const artefact = {
    contractName: 'TicketBroker',
    compiler: COMPILER,
    compilerLongVersion: version,
    optimizer: OPTIMIZER,
    evmVersion: EVM_VERSION,
    sourceSha256: crypto.createHash('sha256').update(source).digest('hex'),
    abi: contract.abi,
    bytecode: '0x' + contract.evm.bytecode.object,
    deployedBytecode: '0x' + contract.evm.deployedBytecode.object,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(artefact, null, 2) + '\n');
  console.error(`wrote ${path.relative(process.cwd(), out)} (solc ${version})`);
}

main();
