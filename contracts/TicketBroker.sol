// SPDX-License-Identifier: MIT
pragma solidity 0.8.24;

/// @title TicketBroker for rigbench
/// @notice Probabilistic micropayments with Livepeer's TicketBroker ABI and checks (same Ticket
/// tuple, same `redeemWinningTicket` selector 0xec8b3cb6, same checks in the same order, same
/// revert reasons). Two simplifications, so that it runs alone on any EVM:
///  - rounds come from block numbers (`currentRound = block.number / roundLength`) instead of a
///    RoundsManager; a round's block hash is the hash of the block just before the round starts,
///    stored the first time the round is touched (or by `initializeRound()`);
///  - there is no BondingManager: every recipient counts as active, the active set size is a
///    constructor parameter, and a winning ticket pays the recipient directly in ETH.
contract TicketBroker {
    struct Ticket {
        address recipient; // who is paid if the ticket wins
        address sender; // who signed the ticket and whose funds pay it
        uint256 faceValue; // wei paid if the ticket wins
        uint256 winProb; // the ticket wins with probability winProb / (2^256 - 1)
        uint256 senderNonce; // counter the sender increments per ticket
        bytes32 recipientRandHash; // keccak256(recipientRand), the recipient's commitment
        bytes auxData; // creationRound (32 bytes) || creationRoundBlockHash (32 bytes)
    }

    struct Sender {
        uint256 deposit; // wei in the deposit
        uint256 withdrawRound; // round from which the sender may withdraw (0 = no unlock)
    }

    struct ReserveInfo {
        uint256 fundsRemaining; // wei left in the reserve
        uint256 claimedInCurrentRound; // wei claimed from it in the current round
    }

    struct Reserve {
        uint256 funds;
        mapping(uint256 => uint256) claimedForRound;
        mapping(uint256 => mapping(address => uint256)) claimedByAddress;
    }

    event DepositFunded(address indexed sender, uint256 amount);
    event ReserveFunded(address indexed reserveHolder, uint256 amount);
    event ReserveClaimed(address indexed reserveHolder, address claimant, uint256 amount);
    event WinningTicketRedeemed(
        address indexed sender,
        address indexed recipient,
        uint256 faceValue,
        uint256 winProb,
        uint256 senderNonce,
        uint256 recipientRand,
        bytes auxData
    );
    event WinningTicketTransfer(address indexed sender, address indexed recipient, uint256 amount);
    event Unlock(address indexed sender, uint256 startRound, uint256 endRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);
    event NewRound(uint256 indexed round, bytes32 blockHash);

    /// Half the secp256k1 group order: signatures with a larger s are malleable and refused.
    uint256 private constant HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// Blocks per round (Livepeer: 5760 L1 blocks).
    uint256 public immutable roundLength;
    /// Orchestrators sharing a sender's reserve: each may claim reserve / activeSetSize per round.
    uint256 public immutable activeSetSize;
    /// Rounds a ticket stays redeemable after its creation round (Livepeer: 2).
    uint256 public constant ticketValidityPeriod = 2;
    /// Rounds between `unlock()` and `withdraw()` (Livepeer: 2).
    uint256 public constant unlockPeriod = 2;

    mapping(address => Sender) internal senders;
    mapping(address => Reserve) internal reserves;
    mapping(bytes32 => bool) public usedTickets;
    mapping(uint256 => bytes32) internal storedRoundBlockHash;

    constructor(uint256 _roundLength, uint256 _activeSetSize) {
        require(_roundLength > 0, "round length must be positive");
        require(_activeSetSize > 0, "active set size must be positive");
        roundLength = _roundLength;
        activeSetSize = _activeSetSize;
    }

    // ---------------------------------------------------------------- rounds

    function currentRound() public view returns (uint256) {
        return block.number / roundLength;
    }

    function currentRoundStartBlock() public view returns (uint256) {
        return currentRound() * roundLength;
    }

    /// @notice The block hash tickets of `_round` must carry in auxData: the one stored for the
    /// round, or, for a round not stored yet, the hash of the block just before it started while
    /// the EVM still knows it (the last 256 blocks). Zero when unknown.
    function blockHashForRound(uint256 _round) public view returns (bytes32) {
        bytes32 stored = storedRoundBlockHash[_round];
        if (stored != bytes32(0) || _round > currentRound()) {
            return stored;
        }
        return _naturalRoundBlockHash(_round);
    }

    /// @notice Whether the current round's block hash is stored (any state change stores it).
    function currentRoundInitialized() public view returns (bool) {
        return storedRoundBlockHash[currentRound()] != bytes32(0);
    }

    /// @notice Stores the current round's block hash so tickets of this round stay redeemable
    /// after the EVM forgets old block hashes. Idempotent; every state-changing call does it too.
    function initializeRound() public {
        _initializeRound();
    }

    function _naturalRoundBlockHash(uint256 _round) internal view returns (bytes32) {
        uint256 start = _round * roundLength;
        return blockhash(start > 0 ? start - 1 : 0);
    }

    function _initializeRound() internal {
        uint256 round = currentRound();
        if (storedRoundBlockHash[round] != bytes32(0)) {
            return;
        }
        bytes32 hash = _naturalRoundBlockHash(round);
        if (hash == bytes32(0)) {
            // Touched too late to know the start's hash (or in block 0): Livepeer's RoundsManager
            // stores the hash of the block before the initialising transaction.
            hash = blockhash(block.number > 0 ? block.number - 1 : 0);
        }
        if (hash != bytes32(0)) {
            storedRoundBlockHash[round] = hash;
            emit NewRound(round, hash);
        }
    }

    // ---------------------------------------------------------------- funding

    function fundDeposit() external payable {
        _initializeRound();
        _addDeposit(msg.sender, msg.value);
    }

    function fundReserve() external payable {
        _initializeRound();
        _addReserve(msg.sender, msg.value);
    }

    function fundDepositAndReserve(uint256 _depositAmount, uint256 _reserveAmount) external payable {
        fundDepositAndReserveFor(msg.sender, _depositAmount, _reserveAmount);
    }

    function fundDepositAndReserveFor(address _addr, uint256 _depositAmount, uint256 _reserveAmount)
        public
        payable
    {
        require(
            msg.value == _depositAmount + _reserveAmount,
            "msg.value does not equal sum of deposit amount and reserve amount"
        );
        _initializeRound();
        _addDeposit(_addr, _depositAmount);
        _addReserve(_addr, _reserveAmount);
    }

    function _addDeposit(address _sender, uint256 _amount) internal {
        Sender storage sender = senders[_sender];
        sender.deposit += _amount;
        if (sender.withdrawRound > 0) {
            _cancelUnlock(sender, _sender);
        }
        emit DepositFunded(_sender, _amount);
    }

    function _addReserve(address _sender, uint256 _amount) internal {
        reserves[_sender].funds += _amount;
        emit ReserveFunded(_sender, _amount);
        Sender storage sender = senders[_sender];
        if (sender.withdrawRound > 0) {
            _cancelUnlock(sender, _sender);
        }
    }

    // ---------------------------------------------------------------- redemption

    function redeemWinningTicket(Ticket memory _ticket, bytes memory _sig, uint256 _recipientRand) public {
        _initializeRound();

        bytes32 ticketHash = getTicketHash(_ticket);
        _requireValidWinningTicket(_ticket, ticketHash, _sig, _recipientRand);

        Sender storage sender = senders[_ticket.sender];
        require(_isLocked(sender), "sender is unlocked");
        require(sender.deposit > 0 || reserves[_ticket.sender].funds > 0, "sender deposit and reserve are zero");

        usedTickets[ticketHash] = true;

        uint256 amountToTransfer;
        if (_ticket.faceValue > sender.deposit) {
            amountToTransfer =
                sender.deposit + _claimFromReserve(_ticket.sender, _ticket.recipient, _ticket.faceValue - sender.deposit);
            sender.deposit = 0;
        } else {
            amountToTransfer = _ticket.faceValue;
            sender.deposit -= _ticket.faceValue;
        }

        if (amountToTransfer > 0) {
            (bool ok,) = payable(_ticket.recipient).call{value: amountToTransfer}("");
            require(ok, "winning ticket transfer to recipient failed");
            emit WinningTicketTransfer(_ticket.sender, _ticket.recipient, amountToTransfer);
        }

        emit WinningTicketRedeemed(
            _ticket.sender,
            _ticket.recipient,
            _ticket.faceValue,
            _ticket.winProb,
            _ticket.senderNonce,
            _recipientRand,
            _ticket.auxData
        );
    }

    /// @notice Redeems each ticket on its own; a failing ticket is skipped, not reverted.
    function batchRedeemWinningTickets(Ticket[] memory _tickets, bytes[] memory _sigs, uint256[] memory _recipientRands)
        public
    {
        require(
            _tickets.length == _sigs.length && _tickets.length == _recipientRands.length,
            "tickets, sigs and recipientRands differ in length"
        );
        for (uint256 i = 0; i < _tickets.length; i++) {
            // Through an external call so that one ticket's revert undoes only that ticket.
            (bool success,) = address(this).call(
                abi.encodeWithSelector(this.redeemWinningTicket.selector, _tickets[i], _sigs[i], _recipientRands[i])
            );
            if (!success) {
                continue; // a failed ticket is skipped, as in Livepeer's MixinWrappers
            }
        }
    }

    function _requireValidWinningTicket(
        Ticket memory _ticket,
        bytes32 _ticketHash,
        bytes memory _sig,
        uint256 _recipientRand
    ) internal view {
        require(_ticket.recipient != address(0), "ticket recipient is null address");
        require(_ticket.sender != address(0), "ticket sender is null address");

        _requireValidTicketAuxData(_ticket.auxData);

        require(
            keccak256(abi.encodePacked(_recipientRand)) == _ticket.recipientRandHash,
            "recipientRand does not match recipientRandHash"
        );
        require(!usedTickets[_ticketHash], "ticket is used");
        require(_isValidTicketSig(_ticket.sender, _sig, _ticketHash), "invalid signature over ticket hash");
        require(
            uint256(keccak256(abi.encodePacked(_sig, _recipientRand))) < _ticket.winProb, "ticket did not win"
        );
    }

    function _requireValidTicketAuxData(bytes memory _auxData) internal view {
        require(_auxData.length == 64, "invalid length for ticket auxData: must be 64 bytes");
        uint256 creationRound;
        bytes32 creationRoundBlockHash;
        assembly {
            creationRound := mload(add(_auxData, 32))
            creationRoundBlockHash := mload(add(_auxData, 64))
        }
        bytes32 blockHash = blockHashForRound(creationRound);
        require(blockHash != bytes32(0), "ticket creationRound does not have a block hash");
        require(creationRoundBlockHash == blockHash, "ticket creationRoundBlockHash invalid for creationRound");
        require(creationRound + ticketValidityPeriod > currentRound(), "ticket is expired");
    }

    /// EIP-191 personal-sign over the ticket hash: 65 bytes r || s || v, v in {27, 28}, low s.
    function _isValidTicketSig(address _sender, bytes memory _sig, bytes32 _ticketHash) internal pure returns (bool) {
        require(_sig.length == 65, "INVALID_SIGNATURE_LENGTH");
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(_sig, 32))
            s := mload(add(_sig, 64))
            v := byte(0, mload(add(_sig, 96)))
        }
        require(uint256(s) <= HALF_CURVE_ORDER, "ECDSA: invalid signature 's' value");
        require(v == 27 || v == 28, "ECDSA: invalid signature 'v' value");
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", _ticketHash));
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "ECDSA: invalid signature");
        return signer == _sender;
    }

    function _isLocked(Sender memory _sender) internal view returns (bool) {
        return _sender.withdrawRound == 0 || currentRound() < _sender.withdrawRound;
    }

    // ---------------------------------------------------------------- reserve

    function claimableReserve(address _reserveHolder, address _claimant) public view returns (uint256) {
        Reserve storage reserve = reserves[_reserveHolder];
        uint256 round = currentRound();
        // Funds at the start of the round = what is left + what was claimed this round.
        uint256 totalClaimable = reserve.funds + reserve.claimedForRound[round];
        return totalClaimable / activeSetSize - reserve.claimedByAddress[round][_claimant];
    }

    function claimedReserve(address _reserveHolder, address _claimant) public view returns (uint256) {
        return reserves[_reserveHolder].claimedByAddress[currentRound()][_claimant];
    }

    function getReserveInfo(address _reserveHolder) public view returns (ReserveInfo memory info) {
        info.fundsRemaining = reserves[_reserveHolder].funds;
        info.claimedInCurrentRound = reserves[_reserveHolder].claimedForRound[currentRound()];
    }

    function _claimFromReserve(address _reserveHolder, address _claimant, uint256 _amount) internal returns (uint256) {
        uint256 claimable = claimableReserve(_reserveHolder, _claimant);
        uint256 claimAmount = _amount > claimable ? claimable : _amount;
        if (claimAmount > 0) {
            uint256 round = currentRound();
            Reserve storage reserve = reserves[_reserveHolder];
            reserve.claimedForRound[round] += claimAmount;
            reserve.claimedByAddress[round][_claimant] += claimAmount;
            reserve.funds -= claimAmount;
            emit ReserveClaimed(_reserveHolder, _claimant, claimAmount);
        }
        return claimAmount;
    }

    // ---------------------------------------------------------------- exit

    function unlock() public {
        _initializeRound();
        Sender storage sender = senders[msg.sender];
        require(sender.deposit > 0 || reserves[msg.sender].funds > 0, "sender deposit and reserve are zero");
        require(sender.withdrawRound == 0, "unlock already initiated");
        uint256 round = currentRound();
        sender.withdrawRound = round + unlockPeriod;
        emit Unlock(msg.sender, round, sender.withdrawRound);
    }

    function cancelUnlock() public {
        _initializeRound();
        _cancelUnlock(senders[msg.sender], msg.sender);
    }

    function withdraw() public {
        _initializeRound();
        Sender storage sender = senders[msg.sender];
        uint256 deposit = sender.deposit;
        uint256 reserve = reserves[msg.sender].funds;
        require(deposit > 0 || reserve > 0, "sender deposit and reserve are zero");
        require(sender.withdrawRound > 0, "no unlock request in progress");
        require(!_isLocked(sender), "account is locked");

        sender.deposit = 0;
        // Claims recorded for this round stay counted; `_isLocked` refuses redemptions from the
        // withdraw round on, as in Livepeer, so a fresh reserve cannot be over-claimed.
        reserves[msg.sender].funds = 0;

        (bool ok,) = payable(msg.sender).call{value: deposit + reserve}("");
        require(ok, "withdrawal transfer failed");
        emit Withdrawal(msg.sender, deposit, reserve);
    }

    function _cancelUnlock(Sender storage _sender, address _senderAddress) internal {
        require(_sender.withdrawRound > 0, "no unlock request in progress");
        _sender.withdrawRound = 0;
        emit UnlockCancelled(_senderAddress);
    }

    // ---------------------------------------------------------------- views

    function isUnlockInProgress(address _sender) public view returns (bool) {
        return senders[_sender].withdrawRound > 0;
    }

    function getSenderInfo(address _sender) public view returns (Sender memory sender, ReserveInfo memory reserve) {
        sender = senders[_sender];
        reserve = getReserveInfo(_sender);
    }

    /// keccak256 of abi.encodePacked(recipient, sender, faceValue, winProb, senderNonce,
    /// recipientRandHash, auxData): the hash payments signs.
    function getTicketHash(Ticket memory _ticket) public pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                _ticket.recipient,
                _ticket.sender,
                _ticket.faceValue,
                _ticket.winProb,
                _ticket.senderNonce,
                _ticket.recipientRandHash,
                _ticket.auxData
            )
        );
    }
}
