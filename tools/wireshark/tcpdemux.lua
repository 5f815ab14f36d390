-- tcpdemux.lua - a Wireshark post-dissector for `tcpdemux ... --annotate OUT.pcapng`.
--
-- tcpdemux writes one packet comment (pcapng opt_comment, Wireshark's
-- frame.comment) per frame, saying how its stack demultiplexed the segment
-- (docs/wireshark.md has the grammar). This plugin reads the comment back
-- into fields, so they can be columns and display filters, and adds Expert
-- Info by severity:
--
--   tcpdemux.kind          demux (a segment fed to the stack), stack (one it sent),
--                          host (the recorded host's own), skipped, other
--   tcpdemux.table         where the lookup ended: ehash, listener or none
--   tcpdemux.lookup        hit or miss (the established hash)
--   tcpdemux.bucket        the ehash bucket looked up
--   tcpdemux.result        what the stack did: syn_ack, queued, deliver, drop, ...
--                          (the action names of docs/json.md)
--   tcpdemux.sock          the socket id (request, socket and TIME_WAIT share one)
--   tcpdemux.state         its TCP state after the segment
--   tcpdemux.listener      the listener consulted, addr:port
--   tcpdemux.wildcard      whether it was found by the wildcard lookup
--   tcpdemux.syn_queue     the listener's SYN queue length after the segment
--   tcpdemux.accept_queue  its accept queue length after the segment
--   tcpdemux.backlog       its backlog
--   tcpdemux.reason        the counter a drop or reset counts (ListenOverflows, ...)
--   tcpdemux.cause         the frame a stack segment answers (a frame number)
--   tcpdemux.verify        with --verify: matched, differs, missing or extra
--
-- Install: copy this file into Wireshark's personal Lua plugins folder
-- (Help > About Wireshark > Folders > Personal Lua Plugins; on Linux
-- ~/.local/lib/wireshark/plugins/), or load it for one run:
--   tshark -X lua_script:tools/wireshark/tcpdemux.lua -r a.pcapng -Y 'tcpdemux.result == "drop"'

local proto = Proto("tcpdemux", "tcpdemux demultiplexing")

local F = {
	kind = ProtoField.string("tcpdemux.kind", "Kind"),
	table = ProtoField.string("tcpdemux.table", "Table"),
	lookup = ProtoField.string("tcpdemux.lookup", "Established hash"),
	bucket = ProtoField.uint32("tcpdemux.bucket", "ehash bucket", base.HEX),
	result = ProtoField.string("tcpdemux.result", "Result"),
	sock = ProtoField.uint32("tcpdemux.sock", "Socket id"),
	state = ProtoField.string("tcpdemux.state", "State"),
	listener = ProtoField.string("tcpdemux.listener", "Listener"),
	wildcard = ProtoField.bool("tcpdemux.wildcard", "Found by the wildcard lookup"),
	syn_queue = ProtoField.uint32("tcpdemux.syn_queue", "SYN queue"),
	accept_queue = ProtoField.uint32("tcpdemux.accept_queue", "Accept queue"),
	backlog = ProtoField.int32("tcpdemux.backlog", "Backlog"),
	reason = ProtoField.string("tcpdemux.reason", "Reason"),
	cause = ProtoField.framenum("tcpdemux.cause", "Caused by frame"),
	verify = ProtoField.string("tcpdemux.verify", "Verify"),
}
proto.fields = { F.kind, F.table, F.lookup, F.bucket, F.result, F.sock, F.state, F.listener,
	F.wildcard, F.syn_queue, F.accept_queue, F.backlog, F.reason, F.cause, F.verify }

local E = {
	chat = ProtoExpert.new("tcpdemux.chat", "tcpdemux", expert.group.SEQUENCE, expert.severity.CHAT),
	note = ProtoExpert.new("tcpdemux.note", "tcpdemux", expert.group.SEQUENCE, expert.severity.NOTE),
	drop = ProtoExpert.new("tcpdemux.drop", "tcpdemux: not accepted", expert.group.SEQUENCE, expert.severity.WARN),
	verify = ProtoExpert.new("tcpdemux.verify.mismatch", "tcpdemux: differs from the kernel",
		expert.group.PROTOCOL, expert.severity.ERROR),
}
proto.experts = { E.chat, E.note, E.drop, E.verify }

local comment_field = Field.new("frame.comment")

-- The outcome's words, in the order tried, and the action each names.
local RESULTS = {
	{ "SYN%-ACK again", "syn_ack_again" },
	{ "SYN cookie", "cookie" },
	{ "reused by a newer SYN", "tw_recycle" },
	{ "handshake complete", "queued" },
	{ "SYN%-ACK for our SYN", "established" },
	{ "request #%d+, SYN queue", "syn_ack" },
	{ "bytes delivered", "deliver" },
	{ "ACK processed", "ack" },
	{ "FIN received", "fin" },
	{ "RST accepted", "reset" },
	{ "RST sent", "rst" },
	{ "challenge ACK", "challenge_ack" },
	{ "ACK sent", "send_ack" },
	{ "dropped", "drop" },
}

local SEVERITY = {
	syn_ack = "chat", queued = "chat", established = "chat",
	cookie = "note", tw_recycle = "note", syn_ack_again = "note", challenge_ack = "note",
	drop = "drop", rst = "drop", reset = "drop", send_ack = "drop",
}

-- The fields of one "demux: ..." comment, as a table (missing ones nil).
local function parse_demux(c)
	local r = { kind = "demux" }
	local bucket, hitmiss = c:match("ehash%[0x(%x+)%] (%a+)")
	if bucket then
		r.bucket = tonumber(bucket, 16)
		r.lookup = hitmiss
	end
	if hitmiss == "hit" then
		r.table = "ehash"
		local what, id, st = c:match("hit (%S+) #(%d+) ([%u_%d]+)")
		if id then
			r.sock = tonumber(id)
			r.state = st
		end
	elseif c:find("-> listener ", 1, true) then
		r.table = "listener"
	elseif hitmiss then
		r.table = "none"
	end
	local lis, how = c:match("listener (%S+) %((%a+)%)")
	if lis then
		r.listener = lis
		r.wildcard = how == "wildcard"
	else
		-- a duplicate SYN: the listener its request belongs to
		r.listener = c:match(" of listener (%S+)")
	end
	local req = c:match("request #(%d+)")
	if req and not r.sock then r.sock = tonumber(req) end
	local s, b = c:match("SYN queue (%d+)/(%-?%d+)")
	if s then
		r.syn_queue = tonumber(s)
		r.backlog = tonumber(b)
	end
	local a, b2 = c:match("accept queue (%d+)/(%-?%d+)")
	if a then
		r.accept_queue = tonumber(a)
		r.backlog = tonumber(b2)
	end
	for _, m in ipairs(RESULTS) do
		if c:find(m[1]) then
			r.result = m[2]
			break
		end
	end
	r.reason = c:match("%((%u%a+)%)")
	if not r.state and (r.result == "syn_ack" or r.result == "tw_recycle") then r.state = "SYN_RECV" end
	return r
end

-- The fields of a "tcpdemux: ..." (stack) or "host: ..." comment.
local function parse_sent(c, kind)
	local r = { kind = kind }
	local n = c:match("answering #(%d+)") or c:match("mirroring #(%d+)")
	if n then r.cause = tonumber(n) end
	r.sock = tonumber(c:match("sock #(%d+)") or c:match("request #(%d+)") or "")
	return r
end

local function parse(c)
	local r
	if c:sub(1, 7) == "demux: " then
		r = parse_demux(c)
	elseif c:sub(1, 10) == "tcpdemux: " then
		r = parse_sent(c, "stack")
	elseif c:sub(1, 6) == "host: " then
		r = parse_sent(c, "host")
	elseif c:sub(1, 9) == "skipped: " then
		r = { kind = "skipped", reason = c:match("skipped: (%S+)") }
	else
		return nil
	end
	r.verify = c:match("verify: (%a+)")
	return r
end

function proto.dissector(tvb, pinfo, tree)
	local comments = { comment_field() }
	for _, fi in ipairs(comments) do
		local c = tostring(fi.value)
		local r = parse(c)
		if r then
			local t = tree:add(proto, c)
			t:add(F.kind, r.kind)
			if r.table then t:add(F.table, r.table) end
			if r.lookup then t:add(F.lookup, r.lookup) end
			if r.bucket then t:add(F.bucket, r.bucket) end
			if r.result then t:add(F.result, r.result) end
			if r.sock then t:add(F.sock, r.sock) end
			if r.state then t:add(F.state, r.state) end
			if r.listener then t:add(F.listener, r.listener) end
			if r.wildcard ~= nil then t:add(F.wildcard, r.wildcard) end
			if r.syn_queue then t:add(F.syn_queue, r.syn_queue) end
			if r.accept_queue then t:add(F.accept_queue, r.accept_queue) end
			if r.backlog then t:add(F.backlog, r.backlog) end
			if r.reason then t:add(F.reason, r.reason) end
			if r.cause then t:add(F.cause, r.cause) end
			if r.verify then t:add(F.verify, r.verify) end
			if r.verify and r.verify ~= "matched" then
				t:add_proto_expert_info(E.verify, c)
			elseif r.result and SEVERITY[r.result] then
				t:add_proto_expert_info(E[SEVERITY[r.result]], c)
			end
		end
	end
end

register_postdissector(proto)
