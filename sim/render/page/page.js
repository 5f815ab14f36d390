/*
 * page.js - the tcpdemux page: a ladder of the run's segments, the lookup
 * path of the selected one, the tables of that moment, and the plot.
 *
 * Path: <script id="events"> (the JSON Lines of docs/json.md, written by
 *       sim/render/render_html.c) -> readRecords() -> buildRun(): one row per
 *       segment, call, accept, timer or note, and for each row the changes
 *       it made to the tables (deltas) -> moveTo(row) applies or undoes
 *       deltas -> drawTables(), drawDetail(), drawLadder(), the plot's cursor.
 *
 * The page is one more renderer of the same events as the text and JSON
 * output: it never computes what the stack decided, it only shows it.
 * The tables of a moment are the latest "tables" record, if the run wrote
 * them (demos and scripts do, after each segment), brought up to date by
 * what the records after it say: a segment names the socket it reached,
 * its state and bucket and the listener's queue lengths; an accept names
 * the socket taken off the queue; a timer's "expire" ends a socket; a
 * "sock" record (the page's own, see docs/json.md) says when a socket
 * changed state or was freed for any other reason.
 *
 * Why deltas: a replay of 100,000 frames has as many steps, and a reader
 * jumps anywhere. Each row keeps only what it changed (old and new entry),
 * so going from step a to step b costs |a - b| small updates, memory stays
 * proportional to the events, and nothing is copied per step.
 */
(function () {
  'use strict';

  var ROW_H = 30;          /* px: must match --row in page.css */
  var GUTTER = 170;        /* px: number and time, left of the lanes */
  var LANE_MIN_PX = 150;   /* the narrowest lane: more peers than fit share one lane */
  var MAX_TABLE_ROWS = 120; /* ehash entries drawn at once; the rest are counted */

  var run = null;          /* what buildRun() made */
  var cur = -1;            /* the row whose state the tables show */
  var view = [];           /* row indices the ladder shows (the filter's result) */
  var viewPos = null;      /* row index -> position in view */
  var state = null;        /* the tables at row cur */
  var playing = null;      /* interval id while playing */

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  /* ---- reading the events ---------------------------------------------- */

  /* Every line of the embedded JSON Lines that parses; a line that does not is skipped and counted. */
  function readRecords() {
    var text = $('events').textContent, out = [], bad = 0, start = 0, end, line;

    while (start < text.length) {
      end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      line = text.slice(start, end);
      start = end + 1;
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch (e) {
        bad++;
      }
    }
    return { records: out, bad: bad };
  }

  function ep(addr, port) {
    return addr.indexOf(':') >= 0 ? '[' + addr + ']:' + port : addr + ':' + port;
  }

  /* "10.0.0.1:80" -> "10.0.0.1", "[2001:db8::1]:80" -> "2001:db8::1" */
  function hostOf(endpoint) {
    if (endpoint.charAt(0) === '[') return endpoint.slice(1, endpoint.indexOf(']'));
    return endpoint.slice(0, endpoint.lastIndexOf(':'));
  }

  var FLAG_WORDS = { S: 'SYN', A: 'ACK', F: 'FIN', R: 'RST', P: 'PSH', U: 'URG', E: 'ECE', C: 'CWR' };

  /* "SA" -> "SYN-ACK", "PA" -> "PSH-ACK", "FA" -> "FIN-ACK" */
  function flagWords(flags) {
    var w = [], i;
    for (i = 0; i < flags.length; i++) w.push(FLAG_WORDS[flags.charAt(i)] || flags.charAt(i));
    return w.join('-') || 'none';
  }

  function secs(t) { return typeof t === 'number' ? t.toFixed(6) : ''; }

  function hex(n) { return '0x' + n.toString(16); }

  /* ---- the model: rows and the deltas of the tables ---------------------- */

  /*
   * The tables as the page keeps them:
   *   entries    sock id -> {id, state, local, remote, hash, bucket, fd, listener, born, queued}
   *   tuples     "local remote" -> sock id (a new id on a 4-tuple replaces the old entry)
   *   listeners  key -> {key, sock, fd, ep, backlog, syn, acc, reuseport}; the key is the
   *              endpoint, with "#sock" for the 2nd and later members of a reuseport group
   *   buckets    the ehash's size, as last known
   * Entries and listeners are never changed in place: a change puts a new
   * object in, so a delta can keep the old one to put back.
   */
  function Model() {
    this.entries = new Map();
    this.tuples = new Map();
    this.listeners = new Map();
    this.buckets = 0;
    this.born = 0;
    this.log = null; /* the delta list of the row being built */
  }

  Model.prototype.setEntry = function (id, next) {
    var prev = this.entries.get(id) || null;
    if (prev === next) return;
    this.log.push(['e', id, prev, next]);
    this.putEntry(id, next);
  };

  Model.prototype.putEntry = function (id, e) {
    var old = this.entries.get(id);
    if (old && this.tuples.get(old.local + ' ' + old.remote) === id) this.tuples.delete(old.local + ' ' + old.remote);
    if (e) {
      this.entries.set(id, e);
      this.tuples.set(e.local + ' ' + e.remote, id);
    } else {
      this.entries.delete(id);
    }
  };

  Model.prototype.setListener = function (key, next) {
    var prev = this.listeners.get(key) || null;
    this.log.push(['l', key, prev, next]);
    this.putListener(key, next);
  };

  Model.prototype.putListener = function (key, l) {
    if (l) this.listeners.set(key, l); else this.listeners.delete(key);
  };

  Model.prototype.setBuckets = function (n) {
    if (n === this.buckets) return;
    this.log.push(['b', 0, this.buckets, n]);
    this.buckets = n;
  };

  /* Applies one delta forwards (dir 1) or backwards (dir -1). */
  Model.prototype.apply = function (d, dir) {
    var v = dir > 0 ? d[3] : d[2];
    if (d[0] === 'e') this.putEntry(d[1], v);
    else if (d[0] === 'l') this.putListener(d[1], v);
    else this.buckets = v;
  };

  function copy(o, changes) {
    var n = {}, k;
    for (k in o) n[k] = o[k];
    for (k in changes) n[k] = changes[k];
    return n;
  }

  /* The listener a segment consulted, by endpoint (the first member of a reuseport group). */
  function listenerAt(m, endpoint) {
    var l = m.listeners.get(endpoint);
    return l || null;
  }

  /*
   * The smallest table size (a power of two, no smaller than known) under
   * which hash lands in bucket: a replay's table may have doubled since the
   * size was last known, and a lookup's bucket shows it.
   */
  function bucketsFor(known, hash, bucket) {
    var n = Math.max(known || 1, 1);
    while (n < 0x1000000 && ((hash & (n - 1)) >>> 0) !== bucket) n *= 2;
    return n;
  }

  /* A "tables" record: the truth at that moment; the model is made equal to it. */
  function applyTables(m, r) {
    var seen = new Set(), keys = new Set(), i, x, id, old, e, key, l;

    m.setBuckets(r.buckets);
    for (i = 0; i < r.listeners.length; i++) {
      x = r.listeners[i];
      key = ep(x.addr, x.port);
      if (keys.has(key)) key += '#' + x.sock;
      keys.add(key);
      l = { key: key, sock: x.sock, fd: x.fd, ep: ep(x.addr, x.port), backlog: x.backlog,
            syn: x.syn_queue, acc: x.accept_queue, reuseport: x.reuseport };
      old = m.listeners.get(key);
      if (!old || old.sock !== l.sock || old.fd !== l.fd || old.backlog !== l.backlog ||
          old.syn !== l.syn || old.acc !== l.acc) m.setListener(key, l);
    }
    m.listeners.forEach(function (v, k) { if (!keys.has(k)) m.setListener(k, null); });
    for (i = 0; i < r.ehash.length; i++) {
      x = r.ehash[i];
      id = x.sock;
      seen.add(id);
      old = m.entries.get(id);
      /* A snapshot lists each chain newest first: born orders them so. */
      e = { id: id, state: x.state, local: x.local, remote: x.remote, bucket: x.bucket,
            hash: old ? old.hash : null, fd: x.fd, listener: old ? old.listener : guessListener(m, x.local),
            born: old ? old.born : m.born - i, queued: old ? old.queued : 0 };
      if (!old || old.state !== e.state || old.bucket !== e.bucket || old.fd !== e.fd ||
          old.local !== e.local || old.remote !== e.remote) m.setEntry(id, e);
    }
    m.entries.forEach(function (v, k) { if (!seen.has(k)) m.setEntry(k, null); });
  }

  /* The listener an entry belongs to when only its local endpoint is known: exact first, then wildcard. */
  function guessListener(m, local) {
    var port, found = null;
    if (m.listeners.has(local)) return local;
    port = local.slice(local.lastIndexOf(':') + 1);
    m.listeners.forEach(function (l) {
      var h = hostOf(l.ep);
      if (!found && (h === '0.0.0.0' || h === '::') && l.ep.slice(l.ep.lastIndexOf(':') + 1) === port) found = l.key;
    });
    return found;
  }

  /* An inbound segment: the socket it reached and the listener's queues, as the stack reported them. */
  function applyIn(m, r, seq) {
    var local = ep(r.dst, r.dport), remote = ep(r.src, r.sport), l, old, e, other, n;

    if (r.lookup && typeof r.lookup.hash === 'number') {
      n = bucketsFor(m.buckets, r.lookup.hash, r.lookup.bucket);
      if (n > m.buckets) m.setBuckets(n);
    }
    if (r.listener && r.queues) {
      l = listenerAt(m, r.listener);
      if (!l) {
        l = { key: r.listener, sock: null, fd: null, ep: r.listener, backlog: r.queues.backlog, syn: 0, acc: 0, reuseport: false };
      }
      if (l.syn !== r.queues.syn || l.acc !== r.queues.accept || l.backlog !== r.queues.backlog) {
        m.setListener(l.key, copy(l, { syn: r.queues.syn, acc: r.queues.accept, backlog: r.queues.backlog }));
      }
    }
    if (r.sock === null || r.sock === undefined) return;
    other = m.tuples.get(local + ' ' + remote);
    if (other !== undefined && other !== r.sock) m.setEntry(other, null); /* TIME_WAIT reused by a new SYN */
    old = m.entries.get(r.sock);
    if (r.state === 'CLOSED') {
      if (old) m.setEntry(r.sock, null);
      return;
    }
    e = old ? copy(old, {}) : { id: r.sock, fd: null, born: ++m.born, queued: 0, listener: null };
    e.state = r.state;
    e.local = local;
    e.remote = remote;
    if (r.state === 'TIME_WAIT' || r.state === 'SYN_RECV') e.fd = null; /* no descriptor holds these */
    if (r.lookup) {
      e.hash = r.lookup.hash;
      e.bucket = r.lookup.bucket;
    }
    if (r.listener && !e.listener) e.listener = (listenerAt(m, r.listener) || { key: r.listener }).key;
    if (r.action === 'queued') e.queued = seq;
    if (!old || old.state !== e.state || old.bucket !== e.bucket || old.local !== e.local || old.remote !== e.remote ||
        old.listener !== e.listener || old.queued !== e.queued) m.setEntry(r.sock, e);
  }

  /* accept(): the socket gets its descriptor and leaves the accept queue. */
  function applyAccept(m, r) {
    var old = m.entries.get(r.id), l = listenerAt(m, r.listener);

    if (l && l.acc !== r.queue_after) m.setListener(l.key, copy(l, { acc: r.queue_after }));
    if (r.state === 'CLOSED') {
      if (old) m.setEntry(r.id, null);
      return;
    }
    if (old) m.setEntry(r.id, copy(old, { fd: r.sock, state: r.state }));
  }

  /* A timer: "expire" ends the socket (a request's last SYN-ACK, TIME_WAIT's end, a connection giving up). */
  function applyTimer(m, r) {
    var old = m.entries.get(r.sock), l;

    if (!old) return;
    if (r.action === 'expire') {
      m.setEntry(r.sock, null);
      if (old.state === 'SYN_RECV' && old.listener && (l = m.listeners.get(old.listener)) && l.syn > 0) {
        m.setListener(l.key, copy(l, { syn: l.syn - 1 }));
      }
    } else if (old.state !== r.state) {
      m.setEntry(r.sock, copy(old, { state: r.state }));
    }
  }

  /* A "sock" record: a state change or a free the segments do not show (the application's close, a timer). */
  function applySock(m, r) {
    var old = m.entries.get(r.id);

    /* Listeners are in the listen table, not the ehash. */
    if (r.state === 'LISTEN' || r.old === 'LISTEN') return;
    if (r.event === 'free') {
      /*
       * Freed: a request that became a socket, or a socket that became a
       * TIME_WAIT entry, leaves its successor (same id) in place; only the
       * entry in the state that was freed goes.
       */
      if (old && old.state === r.state) m.setEntry(r.id, null);
      return;
    }
    if (r.state === 'CLOSED') {
      /* A socket going to TIME_WAIT closes, but its TIME_WAIT entry stays hashed. */
      if (old && !(r.old === 'TIME_WAIT' && old.state === 'TIME_WAIT')) m.setEntry(r.id, null);
      return;
    }
    if (!old) {
      if (!r.local || !r.remote) return;
      m.setEntry(r.id, { id: r.id, state: r.state, local: r.local, remote: r.remote, hash: null,
                         bucket: r.bucket === undefined ? null : r.bucket,
                         fd: r.fd === undefined || r.state === 'TIME_WAIT' ? null : r.fd,
                         listener: guessListener(m, r.local), born: ++m.born, queued: 0 });
      return;
    }
    /* A TIME_WAIT entry is the kernel's, not the descriptor's (the socket that had one is gone). */
    var fd = r.state === 'TIME_WAIT' ? null : r.fd === undefined ? old.fd : r.fd;
    if (old.state !== r.state || fd !== old.fd) m.setEntry(r.id, copy(old, { state: r.state, fd: fd }));
  }

  /*
   * One pass over the records: the rows of the ladder, each with the deltas
   * that take the tables from the row before to it, the lanes, and where
   * each segment number is.
   */
  function buildRun(records) {
    var m = new Model(), rows = [], i, r, row, kind, lanes, laneOf = new Map(), local = new Set(),
        peers = [], stepRow = new Map(), inRows = [], summary = null, meta = null, seq = 0;

    function newRow(kind, r) {
      var row = { kind: kind, rec: r, t: r.t, deltas: [], conn: null, n: null };
      rows.push(row);
      m.log = row.deltas;
      return row;
    }

    /* The start: the state before the first record. */
    newRow('start', { t: 0 });
    for (i = 0; i < records.length; i++) {
      r = records[i];
      switch (r.type) {
      case 'segment':
        row = newRow(r.dir === 'in' ? 'in' : 'out', r);
        if (r.dir === 'in') {
          local.add(r.dst);
          row.conn = ep(r.src, r.sport) + ' ' + ep(r.dst, r.dport);
          row.peer = r.src;
          row.n = r.n;
          if (r.n !== null && !stepRow.has(r.n)) stepRow.set(r.n, rows.length - 1);
          inRows.push(rows.length - 1);
          applyIn(m, r, ++seq);
        } else {
          local.add(r.src);
          row.conn = ep(r.dst, r.dport) + ' ' + ep(r.src, r.sport);
          row.peer = r.dst;
        }
        if (!laneOf.has(row.peer)) { laneOf.set(row.peer, peers.length); peers.push(row.peer); }
        break;
      case 'accept':
        row = newRow('accept', r);
        row.conn = r.remote + ' ' + r.local;
        applyAccept(m, r);
        break;
      case 'timer':
        row = newRow('timer', r);
        row.sock = r.sock;
        applyTimer(m, r);
        break;
      case 'call':
        row = newRow('call', r);
        break;
      case 'inferred':
        row = newRow('note', r);
        break;
      case 'verify':
        /* Matches are the normal case; the ladder shows what did not match. */
        if (r.result !== 'matched') newRow('verify', r);
        break;
      case 'tables':
        m.log = rows[rows.length - 1].deltas;
        applyTables(m, r);
        break;
      case 'sock':
        m.log = rows[rows.length - 1].deltas;
        applySock(m, r);
        break;
      case 'summary':
        summary = r;
        break;
      case 'begin':
        meta = r;
        break;
      case 'say':
        /* Narration stands between moments: at the time of the line before it. */
        row = newRow('say', r);
        row.t = rows[rows.length - 2].t;
        break;
      default:
        break; /* a type this page does not know (docs/json.md: ignore it) */
      }
    }
    /* A timer's row belongs to the connection of its socket, found from the segments around it. */
    var connOfSock = new Map();
    for (i = 0; i < rows.length; i++) {
      row = rows[i];
      if (row.kind === 'in' && row.rec.sock !== null) connOfSock.set(row.rec.sock, row.conn);
      else if (row.kind === 'accept') connOfSock.set(row.rec.id, row.conn);
    }
    for (i = 0; i < rows.length; i++) {
      row = rows[i];
      if (row.kind === 'timer' && connOfSock.has(row.sock)) row.conn = connOfSock.get(row.sock);
    }
    /*
     * Peers drawn left of the server, one lane each in order of appearance,
     * while they fit; more than that share one lane, and each arrow then
     * names its peer's endpoint.
     */
    var fit = Math.max(1, Math.floor(($('ladder').clientWidth - GUTTER - 60) / LANE_MIN_PX) - 1);
    if (peers.length <= fit) {
      lanes = peers.map(function (p) { return { name: p }; });
    } else {
      lanes = [{ name: peers.length + ' peers', shared: true }];
      peers.forEach(function (p) { laneOf.set(p, 0); });
    }
    lanes.push({ name: Array.from(local).filter(function (a) { return !laneOf.has(a); }).join(' ') || 'server', server: true });
    return { rows: rows, lanes: lanes, laneOf: laneOf, stepRow: stepRow, inRows: inRows, summary: summary,
             model: m, meta: meta, last: rows.length - 1 };
  }

  /* Brings the model to row target, applying or undoing deltas one row at a time. */
  function seek(target) {
    var m = run.model, i, d;
    while (cur < target) {
      cur++;
      d = run.rows[cur].deltas;
      for (i = 0; i < d.length; i++) m.apply(d[i], 1);
    }
    while (cur > target) {
      d = run.rows[cur].deltas;
      for (i = d.length - 1; i >= 0; i--) m.apply(d[i], -1);
      cur--;
    }
  }

  /* ---- the words for what happened -------------------------------------- */

  /* What the stack did with an inbound segment, in the words of the text trace. */
  function outcome(r) {
    var q = r.queues, s = r.sock, st = r.state;
    switch (r.action) {
    case 'syn_ack': return 'new request #' + s + ' (SYN_RECV), SYN queue ' + q.syn + '/' + q.backlog + ' \u2192 SYN-ACK';
    case 'tw_recycle': return 'TIME_WAIT entry reused by a newer SYN \u2192 new request #' + s + ', SYN queue ' + q.syn + '/' + q.backlog + ' \u2192 SYN-ACK';
    case 'syn_ack_again': return 'duplicate SYN \u2192 SYN-ACK sent again';
    case 'cookie': return 'SYN queue ' + q.syn + '/' + q.backlog + ' full \u2192 SYN cookie (mss ' + (r.cookie ? r.cookie.mss : '?') + '), no state kept \u2192 SYN-ACK';
    case 'queued': return 'handshake complete: sock #' + s + ' ' + st + ', accept queue ' + q.accept + '/' + q.backlog;
    case 'established': return 'SYN-ACK for our SYN: sock #' + s + ' ESTABLISHED \u2192 ACK';
    case 'deliver': return r.len + ' bytes delivered (' + st + ')';
    case 'ack': return 'ACK processed (' + st + ')';
    case 'fin': return 'FIN received \u2192 ' + st;
    case 'rst': return 'answered with RST' + (r.reason ? ' (' + r.reason + ')' : '');
    case 'reset': return 'RST accepted: #' + s + ' closed';
    case 'challenge_ack': return 'challenge ACK (RFC 5961)';
    case 'send_ack': return 'not acceptable here \u2192 ACK sent' + (r.reason ? ' (' + r.reason + ')' : '');
    case 'drop':
      if (r.reason === 'ListenOverflows' && q) return 'accept queue full (' + q.accept + ' > backlog ' + q.backlog + ') \u2192 dropped (ListenOverflows)';
      if (r.reason === 'TCPReqQFullDrop' && q) return 'SYN queue full (' + q.syn + ' > backlog ' + q.backlog + ') \u2192 dropped (TCPReqQFullDrop)';
      return 'dropped' + (r.reason ? ' (' + r.reason + ')' : '');
    default: return r.action;
    }
  }

  function isBad(r) {
    return r.action === 'drop' || r.action === 'rst' || r.action === 'reset';
  }

  /* The short label on a ladder arrow. */
  function arrowLabel(r) {
    var s = flagWords(r.flags);
    if (r.len) s += ' len ' + r.len;
    if (r.dir === 'in' && r.action === 'drop') s += ' \u2716 dropped';
    return s;
  }

  /* The one-line text of a non-segment row. */
  function noteText(row) {
    var r = row.rec;
    switch (row.kind) {
    case 'start': return 'start of the run';
    case 'accept': return 'accept() on ' + r.listener + ' \u2192 fd ' + r.sock + ' = sock #' + r.id + ' (' + r.remote + '), queue now ' + r.queue_after;
    case 'call': return r.who + ': ' + r.call + ' = ' + (r.errno ? '-1 ' + r.errno : r.ret) + (r.detail ? '  ' + r.detail : '');
    case 'timer': return 'timer #' + r.sock + ' ' + r.state + ': ' + r.action + (r.retries ? ' (retransmission ' + r.retries + ')' : '');
    case 'note': return 'inferred ' + r.what + ' ' + r.subject + ': ' + r.why;
    case 'verify': return 'verify ' + r.result + ' ' + r.class + (r.fields && r.fields.length ? ': ' + r.fields.join(', ') : '');
    case 'say': return r.text.replace(/^== /, '');
    default: return row.kind;
    }
  }

  /* ---- the ladder --------------------------------------------------------- */

  function laneX(i) {
    var w = $('ladder').clientWidth - GUTTER - 30, n = run.lanes.length;
    if (n === 1) return GUTTER + w / 2;
    return GUTTER + 60 + (w - 100) * i / (n - 1);
  }

  function laneOfRow(row) {
    var i = run.laneOf.get(row.peer);
    return i === undefined ? 0 : i;
  }

  function drawLanesHead() {
    var head = $('lanes-head'), i, d;
    head.textContent = '';
    head.appendChild(el('div', 'gutter-head', '#     time (s)'));
    for (i = 0; i < run.lanes.length; i++) {
      d = el('div', 'lane-name' + (run.lanes[i].server ? ' server' : ''), run.lanes[i].name);
      d.style.left = laneX(i) + 'px';
      head.appendChild(d);
    }
  }

  /* One row of the ladder, drawn fresh (only the visible ones exist). */
  function rowElement(ri) {
    var row = run.rows[ri], r = row.rec, d = el('div', 'row'), i, a, b, left, right, lbl, arrow, note, server, pl;

    d.dataset.row = ri;
    if (ri === cur) d.classList.add('sel');
    d.appendChild(el('span', 'num', row.kind === 'in' && row.n !== null ? '#' + row.n : ''));
    d.appendChild(el('span', 'time', secs(row.t)));
    for (i = 0; i < run.lanes.length; i++) {
      a = el('div', 'vline' + (run.lanes[i].server ? ' server' : ''));
      a.style.left = laneX(i) + 'px';
      d.appendChild(a);
    }
    server = laneX(run.lanes.length - 1);
    if (row.kind === 'in' || row.kind === 'out') {
      pl = laneOfRow(row);
      left = laneX(pl);
      right = server;
      arrow = el('div', 'arrow ' + (row.kind === 'in' ? 'right in' : 'left out'));
      if (row.kind === 'in' && isBad(r)) arrow.className += ' bad' + (r.action === 'drop' ? ' dropped' : '');
      arrow.style.left = left + 'px';
      arrow.style.width = (right - left) + 'px';
      d.appendChild(arrow);
      lbl = el('span', 'lbl ' + (row.kind === 'in' ? (isBad(r) ? 'bad' : 'in') : 'out'), arrowLabel(r));
      lbl.style.left = (left + right) / 2 + 'px';
      if (run.lanes[pl].shared) lbl.textContent = (row.kind === 'in' ? ep(r.src, r.sport) : ep(r.dst, r.dport)) + '  ' + lbl.textContent;
      d.appendChild(lbl);
    } else {
      note = el('span', 'note ' + row.kind, noteText(row));
      if (row.kind === 'call' && r.who !== 'server' && r.who !== 'script' && run.laneOf.has(r.who.replace(/^client /, ''))) {
        b = laneX(laneOfRow({ peer: r.who.replace(/^client /, '') }));
        note.style.left = Math.max(GUTTER, b - 20) + 'px';
      } else {
        note.style.left = GUTTER + 10 + 'px';
      }
      note.style.maxWidth = ($('ladder').clientWidth - parseFloat(note.style.left) - 12) + 'px';
      d.appendChild(note);
    }
    d.style.top = viewPos.get(ri) * ROW_H + 'px';
    return d;
  }

  function drawLadder() {
    var box = $('ladder'), space = $('ladder-space'), top = box.scrollTop, h = box.clientHeight,
        first = Math.max(0, Math.floor(top / ROW_H) - 5), last = Math.min(view.length, Math.ceil((top + h) / ROW_H) + 5), i;

    space.style.height = view.length * ROW_H + 'px';
    space.textContent = '';
    for (i = first; i < last; i++) space.appendChild(rowElement(view[i]));
  }

  /* Scrolls so that row ri is in sight, with some context above it. */
  function reveal(ri) {
    var box = $('ladder'), p = viewPos.get(ri), y;
    if (p === undefined) return;
    y = p * ROW_H;
    if (y < box.scrollTop + ROW_H || y > box.scrollTop + box.clientHeight - 2 * ROW_H) {
      box.scrollTop = Math.max(0, y - box.clientHeight / 3);
    }
  }

  /* ---- the detail: the selected step and its lookup path ------------------- */

  function hop(cls, title, body) {
    var d = el('div', 'hop ' + cls);
    d.appendChild(el('b', null, title));
    d.appendChild(document.createTextNode(body));
    return d;
  }

  /*
   * The kernel's order (tcp_v4_rcv -> __inet_lookup): the established hash
   * on the full 4-tuple first; on a miss the listeners on the exact local
   * address, then the wildcard ones.
   */
  function drawPath(r) {
    var p = $('path'), lk = r.lookup, res = lk.result, hitEhash = res === 'established' || res === 'request' || res === 'timewait',
        consulted = res === 'listener' || (r.listener && !hitEhash), what;

    p.textContent = '';
    what = hitEhash ? 'hit: ' + (res === 'request' ? 'request' : res === 'timewait' ? 'TIME_WAIT' : 'sock') + ' #' + r.sock : 'miss';
    p.appendChild(hop(hitEhash ? 'hit' : 'miss', '1 ehash bucket ' + hex(lk.bucket),
                      'chain walked ' + lk.walked + ' \u2192 ' + what));
    p.appendChild(el('span', 'hop-arrow', '\u2192'));
    if (hitEhash) {
      p.appendChild(hop('skip', '2 listener, exact address', 'not needed'));
      p.appendChild(el('span', 'hop-arrow', '\u2192'));
      p.appendChild(hop('skip', '3 listener, wildcard', 'not needed'));
    } else if (consulted && !lk.wildcard) {
      p.appendChild(hop('hit', '2 listener, exact address', r.listener + (lk.reuseport_group ? ' (reuseport group of ' + lk.reuseport_group + ')' : '')));
      p.appendChild(el('span', 'hop-arrow', '\u2192'));
      p.appendChild(hop('skip', '3 listener, wildcard', 'not needed'));
    } else if (consulted) {
      p.appendChild(hop('miss', '2 listener, exact address', 'none on ' + ep(r.dst, r.dport)));
      p.appendChild(el('span', 'hop-arrow', '\u2192'));
      p.appendChild(hop('hit', '3 listener, wildcard', r.listener + (lk.reuseport_group ? ' (reuseport group of ' + lk.reuseport_group + ')' : '')));
    } else {
      p.appendChild(hop('miss', '2 listener, exact address', 'none on ' + ep(r.dst, r.dport)));
      p.appendChild(el('span', 'hop-arrow', '\u2192'));
      p.appendChild(hop('miss', '3 listener, wildcard', 'none on port ' + r.dport));
    }
  }

  /* The narration that leads to row ri (a demo's "== ..." lines), or null. */
  function narrationAt(ri) {
    for (; ri >= 0; ri--) if (run.rows[ri].kind === 'say') return noteText(run.rows[ri]);
    return null;
  }

  function drawDetail() {
    var row = run.rows[cur], r = row.rec, d = $('detail'), head, what, said = narrationAt(cur),
        first = run.inRows.length ? run.inRows[0] : run.last + 1;

    d.textContent = '';
    $('path').textContent = '';
    if (run.meta && run.meta.intro && cur < first) {
      d.appendChild(el('div', 'intro', run.meta.intro));
    }
    if (said && row.kind !== 'say') d.appendChild(el('div', 'said', said)); /* a narration line is its own head */
    if (row.kind === 'in' || row.kind === 'out') {
      head = (row.kind === 'in' ? (r.n !== null ? '#' + r.n + ' ' : '') + 'in ' : 'out ') +
             ep(r.src, r.sport) + ' \u2192 ' + ep(r.dst, r.dport) + ' ' + flagWords(r.flags);
      d.appendChild(el('div', 'head ' + row.kind, head));
      d.appendChild(el('div', 'why', 't ' + secs(r.t) + ' s   seq ' + r.seq + (r.flags.indexOf('A') >= 0 ? '  ack ' + r.ack : '') +
                       '  win ' + r.win + (r.len ? '  len ' + r.len : '')));
      if (row.kind === 'in' && r.lookup) {
        what = el('div', 'what outcome ' + (isBad(r) ? 'bad' : 'ok'), outcome(r));
        d.appendChild(what);
        drawPath(r);
      } else {
        d.appendChild(el('div', 'what', 'sent by the stack'));
      }
    } else {
      d.appendChild(el('div', 'head', noteText(row)));
      d.appendChild(el('div', 'why', 't ' + secs(row.t) + ' s'));
    }
  }

  /* ---- the tables of the moment ------------------------------------------ */

  /* The SYN queue and accept queue of listener key, as entries (oldest first). */
  function queuesOf(key) {
    var syn = [], acc = [];
    run.model.entries.forEach(function (e) {
      if (e.listener !== key) return;
      if (e.state === 'SYN_RECV') syn.push(e);
      else if (e.fd === null && e.state !== 'TIME_WAIT' && e.state !== 'CLOSED' && e.queued) acc.push(e);
    });
    syn.sort(function (a, b) { return a.born - b.born; });
    acc.sort(function (a, b) { return a.queued - b.queued; });
    return { syn: syn, acc: acc };
  }

  function slotRow(box, name, count, backlog, members, cls) {
    var q = el('div', 'queue'), slots = el('div', 'slots'), full = count > backlog, i, shown = Math.min(members.length, 24);
    q.appendChild(el('span', 'qname' + (full ? ' full' : ''), name + ' ' + count + '/' + backlog + (full ? ' full' : '')));
    for (i = 0; i < shown; i++) slots.appendChild(el('span', 'slot ' + cls, '#' + members[i].id + ' ' + members[i].remote));
    if (members.length > shown) slots.appendChild(el('span', 'more', '\u2026 and ' + (members.length - shown) + ' more'));
    if (!count) slots.appendChild(el('span', 'slot empty', 'empty'));
    else if (count > members.length && members.length === 0) slots.appendChild(el('span', 'more', count + ' (members not in the events)'));
    q.appendChild(slots);
    box.appendChild(q);
  }

  function drawTables() {
    var t = $('tables'), m = run.model, row = run.rows[cur], r = row.rec, hotListener = null, hotBucket = null, hitId = null,
        list = [], h, box, byBucket, keys, i, e, b, shown = 0, start, entries;

    if (row.kind === 'in' && r.lookup) {
      hotBucket = r.lookup.bucket;
      if (r.lookup.result !== 'listener' && r.lookup.result !== 'none') hitId = r.sock;
      if (r.listener) hotListener = r.listener;
    }
    t.textContent = '';
    h = el('h2', null, 'listen table ');
    h.appendChild(el('span', null, '(listeners by local address:port)'));
    t.appendChild(h);
    m.listeners.forEach(function (l) { list.push(l); });
    if (!list.length) t.appendChild(el('div', 'box more', '(no listener)'));
    list.forEach(function (l) {
      var q = queuesOf(l.key), lb = el('div', 'box listener' + (l.ep === hotListener ? ' hot' : '')), head = el('div', 'lhead');
      head.appendChild(document.createTextNode((l.sock !== null ? '#' + l.sock + ' ' : '') + l.ep + ' '));
      head.appendChild(el('span', 'dim', (l.fd !== null ? 'fd ' + l.fd + ', ' : '') + 'backlog ' + l.backlog + (l.reuseport ? ', reuseport' : '')));
      lb.appendChild(head);
      slotRow(lb, 'SYN queue', l.syn, l.backlog, q.syn, 'req');
      slotRow(lb, 'accept queue', l.acc, l.backlog, q.acc, 'acc');
      t.appendChild(lb);
    });

    h = el('h2', null, 'ehash ');
    h.appendChild(el('span', null, '(' + (m.buckets || '?') + ' buckets, ' + m.entries.size + ' entries; keyed on the full 4-tuple; chains newest first)'));
    t.appendChild(h);
    byBucket = new Map();
    m.entries.forEach(function (x) {
      var k = x.bucket === null || x.bucket === undefined ? -1 : x.bucket;
      if (!byBucket.has(k)) byBucket.set(k, []);
      byBucket.get(k).push(x);
    });
    keys = Array.from(byBucket.keys()).sort(function (a, c) { return a - c; });
    if (hotBucket !== null && !byBucket.has(hotBucket)) {
      keys.push(hotBucket);
      keys.sort(function (a, c) { return a - c; });
      byBucket.set(hotBucket, []);
    }
    if (!keys.length) t.appendChild(el('div', 'box more', '(empty)'));
    /* A big table: the buckets around the one looked up, and a count of the rest. */
    start = 0;
    if (m.entries.size > MAX_TABLE_ROWS && hotBucket !== null) start = Math.max(0, keys.indexOf(hotBucket) - 10);
    if (start > 0) t.appendChild(el('div', 'more', '\u2026 ' + start + ' buckets before'));
    box = el('div', 'box');
    for (i = start; i < keys.length && shown < MAX_TABLE_ROWS; i++) {
      b = el('div', 'bucket' + (keys[i] === hotBucket ? ' hot' : ''));
      b.appendChild(el('span', 'bname', keys[i] < 0 ? '(unhashed)' : hex(keys[i])));
      entries = byBucket.get(keys[i]).sort(function (x, y) { return y.born - x.born; });
      if (!entries.length) b.appendChild(el('span', 'chain', '(empty chain)'));
      entries.forEach(function (x, j) {
        var en = el('span', 'entry' + (x.id === hitId ? ' hit' : ''));
        if (j) b.appendChild(el('span', 'chain', '\u2192'));
        en.appendChild(document.createTextNode('#' + x.id + ' ' + x.local + ' \u2194 ' + x.remote + ' '));
        en.appendChild(el('span', 'st', x.state));
        if (x.fd !== null && x.fd !== undefined) en.appendChild(document.createTextNode(' fd ' + x.fd));
        b.appendChild(en);
        shown++;
      });
      box.appendChild(b);
    }
    if (keys.length) t.appendChild(box);
    if (i < keys.length) t.appendChild(el('div', 'more', '\u2026 ' + (keys.length - i) + ' more buckets'));
  }

  /* ---- the plot's cursor ---------------------------------------------------- */

  function plotSvg() { return $('plot').querySelector('svg'); }

  function drawCursor() {
    var svg = plotSvg(), c, x;
    if (!svg || !svg.dataset.t1) return;
    c = svg.querySelector('#cursor');
    if (!c) {
      c = document.createElementNS('http://www.w3.org/2000/svg', 'line');
      c.setAttribute('id', 'cursor');
      c.setAttribute('stroke', '#16191d');
      c.setAttribute('stroke-width', '2');
      c.setAttribute('y1', svg.dataset.y0);
      c.setAttribute('y2', svg.dataset.y1);
      svg.appendChild(c);
    }
    x = tToX(svg, run.rows[cur].t || 0);
    c.setAttribute('x1', x);
    c.setAttribute('x2', x);
  }

  function tToX(svg, t) {
    var t0 = +svg.dataset.t0, t1 = +svg.dataset.t1, x0 = +svg.dataset.x0, x1 = +svg.dataset.x1;
    if (t1 <= t0) return x0;
    return x0 + (x1 - x0) * Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
  }

  /* A click on the plot: the last row at or before that moment. */
  function plotClick(ev) {
    var svg = plotSvg(), pt, t, lo = 0, hi = run.rows.length - 1, mid, x0 = +svg.dataset.x0, x1 = +svg.dataset.x1;
    pt = svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    pt = pt.matrixTransform(svg.getScreenCTM().inverse());
    t = +svg.dataset.t0 + (+svg.dataset.t1 - +svg.dataset.t0) * Math.min(1, Math.max(0, (pt.x - x0) / (x1 - x0)));
    while (lo < hi) {
      mid = (lo + hi + 1) >> 1;
      if ((run.rows[mid].t || 0) <= t) lo = mid; else hi = mid - 1;
    }
    select(lo, true);
  }

  /* ---- moving ----------------------------------------------------------------- */

  function drawPosition() {
    var row = run.rows[cur], n = null, i;
    for (i = cur; i >= 0; i--) if (run.rows[i].kind === 'in' && run.rows[i].n !== null) { n = run.rows[i].n; break; }
    $('position').textContent = 'segment ' + (n === null ? '\u2013' : '#' + n) + ' \u00b7 line ' + cur + ' of ' + run.last +
      ' \u00b7 t ' + secs(row.t || 0) + ' s';
  }

  /* Selects row ri: the tables of that moment, the detail, the ladder and the address follow. */
  function select(ri, updateHash) {
    ri = Math.max(0, Math.min(run.last, ri));
    seek(ri);
    drawDetail();
    drawTables();
    drawLadder();
    reveal(ri);
    drawLadder();
    drawCursor();
    drawPosition();
    if (updateHash) {
      var row = run.rows[ri],
          h = ri === run.last ? '#step=last'
            : row.kind === 'in' && row.n !== null ? '#step=' + row.n
            : ri === rowForStep('0') ? '#step=0' : '#row=' + ri;
      if (location.hash !== h) history.replaceState(null, '', h);
    }
    document.body.dataset.row = ri;
  }

  /* The next (dir 1) or previous (dir -1) row in view; inOnly: segments received only. */
  function neighbour(dir, inOnly) {
    var p = viewPos.get(cur), i, ri;
    if (p === undefined) {
      /* The selection is filtered out: start from the nearest row in view. */
      for (p = 0; p < view.length && view[p] < cur; p++);
      if (dir > 0) p--;
    }
    for (i = p + dir; i >= 0 && i < view.length; i += dir) {
      ri = view[i];
      if (!inOnly || run.rows[ri].kind === 'in') return ri;
    }
    return cur;
  }

  /* The first step: before the first segment (the listeners set up), or the filter's first line. */
  function firstRow() {
    if (view.length && view.length < run.rows.length) return view[0];
    return rowForStep('0');
  }

  /* The row a step names: "last", a segment number (or the last segment before it), "row=R". */
  function rowForStep(s) {
    var n, lo, hi, mid, rows = run.inRows;
    if (s === 'last') return run.last;
    n = parseInt(s, 10);
    if (isNaN(n)) return 0;
    if (run.stepRow.has(n)) return run.stepRow.get(n);
    if (n <= 0 || !rows.length || run.rows[rows[0]].n > n) {
      /* Step 0: everything before the first segment. */
      return rows.length ? rows[0] - 1 : run.last;
    }
    lo = 0;
    hi = rows.length - 1;
    while (lo < hi) {
      mid = (lo + hi + 1) >> 1;
      if (run.rows[rows[mid]].n <= n) lo = mid; else hi = mid - 1;
    }
    return rows[lo];
  }

  function fromHash() {
    var h = location.hash.replace(/^#/, ''), m;
    if ((m = /(?:^|&)step=([^&]*)/.exec(h))) return rowForStep(decodeURIComponent(m[1]));
    if ((m = /(?:^|&)row=(\d+)/.exec(h))) return Math.min(run.last, parseInt(m[1], 10));
    return rowForStep('0');
  }

  /* ---- the filter ------------------------------------------------------------- */

  function setView(text) {
    var i, rows = run.rows;
    view = [];
    text = text.trim();
    for (i = 0; i < rows.length; i++) {
      if (!text || (rows[i].conn && rows[i].conn.indexOf(text) >= 0)) view.push(i);
      else if (text && !rows[i].conn && rows[i].kind !== 'in' && rows[i].kind !== 'out' &&
               noteText(rows[i]).indexOf(text) >= 0) view.push(i);
    }
    viewPos = new Map();
    for (i = 0; i < view.length; i++) viewPos.set(view[i], i);
    drawLadder();
    reveal(cur);
    drawLadder();
  }

  /* c: only the selected row's connection, or everything again. */
  function toggleConnectionFilter() {
    var f = $('filter'), row = run.rows[cur];
    if (f.value || !row.conn) f.value = '';
    else f.value = row.conn.split(' ')[0];
    setView(f.value);
  }

  /* ---- play ----------------------------------------------------------------- */

  function play(on) {
    if (playing) clearInterval(playing);
    playing = null;
    $('play').textContent = on ? 'pause' : 'play';
    if (!on) return;
    playing = setInterval(function () {
      var n = neighbour(1, true);
      if (n === cur) {
        n = neighbour(1, false);
        if (n === cur) { play(false); return; }
      }
      select(n, true);
    }, +$('pace').value);
  }

  function changePace(dir) {
    var p = $('pace'), i = Math.max(0, Math.min(p.options.length - 1, p.selectedIndex + dir));
    p.selectedIndex = i;
    if (playing) play(true);
  }

  /* ---- keys and buttons --------------------------------------------------------- */

  function onKey(ev) {
    var tag = ev.target && ev.target.tagName, k = ev.key;
    if (tag === 'INPUT' || tag === 'SELECT') {
      if (k === 'Escape') ev.target.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    switch (k) {
    case 'ArrowRight': case 'n': select(neighbour(1, true), true); break;
    case 'ArrowLeft': case 'p': select(neighbour(-1, true), true); break;
    case 'ArrowDown': case 'j': select(neighbour(1, false), true); break;
    case 'ArrowUp': case 'k': select(neighbour(-1, false), true); break;
    case 'Home': select(firstRow(), true); break;
    case 'End': select(view.length ? view[view.length - 1] : run.last, true); break;
    case 'g': $('jump').focus(); $('jump').select(); break;
    case ' ': play(!playing); break;
    case '+': changePace(1); break;
    case '-': changePace(-1); break;
    case 'c': toggleConnectionFilter(); break;
    case '?': $('help').hidden = !$('help').hidden; break;
    case 'Escape': $('help').hidden = true; play(false); break;
    default: return;
    }
    ev.preventDefault();
  }

  function wire() {
    $('first').onclick = function () { select(firstRow(), true); };
    $('last').onclick = function () { select(view.length ? view[view.length - 1] : run.last, true); };
    $('next').onclick = function () { select(neighbour(1, true), true); };
    $('prev').onclick = function () { select(neighbour(-1, true), true); };
    $('play').onclick = function () { play(!playing); };
    $('pace').onchange = function () { if (playing) play(true); };
    $('help-button').onclick = function () { $('help').hidden = !$('help').hidden; };
    $('jump').onkeydown = function (ev) {
      if (ev.key === 'Enter') {
        select(rowForStep(this.value.replace(/^#/, '')), true);
        this.blur();
      }
    };
    $('filter').oninput = function () { setView(this.value); };
    $('ladder').onscroll = drawLadder;
    $('ladder-space').onclick = function (ev) {
      var r = ev.target.closest('.row');
      if (r) select(+r.dataset.row, true);
    };
    window.addEventListener('resize', function () { drawLanesHead(); drawLadder(); });
    window.addEventListener('hashchange', function () { select(fromHash(), false); });
    document.addEventListener('keydown', onKey);
    if (plotSvg()) plotSvg().addEventListener('click', plotClick);
  }

  /* The plot is written after the events (it is drawn when the run ends): move it into its pane. */
  function placePlot() {
    var t = $('plot-svg'), svg = t && t.content.querySelector('svg');
    if (svg) $('plot').appendChild(document.importNode(svg, true));
    else $('plot').appendChild(el('p', 'empty', 'no queue-depth plot in this page'));
  }

  function start() {
    var t0 = performance.now(), read = readRecords();
    placePlot();
    run = buildRun(read.records);
    cur = run.rows.length - 1; /* the model stands at the end after building */
    setView('');
    drawLanesHead();
    wire();
    select(fromHash(), false);
    document.body.dataset.readyAt = Math.round(performance.now()); /* ms since navigation began */
    document.body.dataset.ready = '1';
    document.body.dataset.rows = run.rows.length;
    document.body.dataset.loadMs = Math.round(performance.now() - t0);
    if (read.bad) $('position').textContent += ' \u00b7 ' + read.bad + ' unreadable lines skipped';
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
