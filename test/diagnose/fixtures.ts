/**
 * Candidates built by hand the way detectors emit them, one or more per failure
 * mode and language. Line numbers and code follow the shared corpus cases where
 * one exists; the others are small realistic programs.
 */
import type { Candidate, FailureMode, Language, Variant } from '../../src/types.js';

export interface Fixture {
  name: string;
  candidate: Candidate;
  fileText?: string[];
  /** Identifiers the text must use. */
  identifiers: string[];
}

function cand(p: {
  mode: FailureMode;
  file: string;
  language: Language;
  variant: Variant;
  title: string;
  fn?: string;
  entity: string;
  evidence: [number, string, string][];
  facts?: Record<string, string>;
}): Candidate {
  const lines = p.evidence.map((e) => e[0]);
  return {
    detector: 'hand-built',
    failureMode: p.mode,
    file: p.file,
    language: p.language,
    line: Math.min(...lines),
    endLine: Math.max(...lines),
    severity: 'high',
    confidence: 0.8,
    title: p.title,
    ...(p.fn ? { functionName: p.fn } : {}),
    entity: p.entity,
    evidence: p.evidence.map(([line, role, text]) => ({ line, role, text })),
    facts: p.facts ?? {},
    variant: p.variant,
  };
}

/** Place `text` lines at 1-based `start` in a file of empty lines. */
function fileWith(start: number, text: string): string[] {
  const out: string[] = Array.from({ length: start - 1 }, () => '');
  out.push(...text.split('\n'));
  return out;
}

export const FIXTURES: Fixture[] = [
  // ------------------------------------------------------------------ toctou
  {
    // As check-then-insert reports examples/duplicate-charge.diff: the per-call key folded into the finding.
    name: 'toctou ts pg + stripe (the duplicate charge)',
    candidate: cand({
      mode: 'toctou',
      file: 'src/api/charge.ts',
      language: 'typescript',
      variant: 'distributed',
      title: 'chargeCustomer dedups on a charges row with the same user_id, product_id in the last 5 minutes (SELECT … FROM charges), then calls stripe.paymentIntents.create and inserts with INSERT INTO charges',
      fn: 'chargeCustomer',
      entity: 'charges',
      evidence: [
        [5, 'key', 'const idempotencyKey = `${userId}-${productId}-${Date.now()}`;'],
        [9, 'check', `"SELECT id FROM charges WHERE user_id = $1 AND product_id = $2 AND created_at > NOW() - INTERVAL '5 minutes'",`],
        [17, 'act', 'const stripeResult = await stripe.paymentIntents.create({ amount, customer: userId }, { idempotencyKey });'],
        [21, 'act', "'INSERT INTO charges (user_id, product_id, stripe_id, amount, created_at) VALUES ($1, $2, $3, $4, NOW())',"],
      ],
      facts: {
        table: 'charges',
        keyColumns: 'user_id, product_id',
        orm: 'pg',
        window: '5 minutes',
        externalCall: 'stripe.paymentIntents.create',
        checkCall: 'db.query',
        actCall: 'db.query',
        existingIndex: 'none',
        inTransaction: 'no',
        idempotencyKey: '`${userId}-${productId}-${Date.now()}`',
      },
    }),
    fileText: fileWith(4, 'export async function chargeCustomer(userId: string, amount: number, productId: string) {'),
    identifiers: ['chargeCustomer', 'charges', 'stripe.paymentIntents.create', 'user_id, product_id', 'idempotency_key', '5 minutes'],
  },
  {
    name: 'toctou key ts per-call idempotency key (stripe, Date.now)',
    candidate: cand({
      mode: 'toctou',
      file: 'src/payments/charge.ts',
      language: 'typescript',
      variant: 'distributed',
      title: 'idempotencyKey passed to stripe.paymentIntents.create is built from Date.now() on every call',
      fn: 'charge',
      entity: 'stripe.paymentIntents.create',
      evidence: [
        [3, 'key', 'const idempotencyKey = `order-${orderId}-${Date.now()}`;'],
        [4, 'act', "return stripe.paymentIntents.create({ amount, currency: 'eur', customer }, { idempotencyKey });"],
      ],
      facts: {
        pattern: 'nondeterministic-key',
        idempotencyKey: '`order-${orderId}-${Date.now()}`',
        keyName: 'idempotencyKey',
        actCall: 'stripe.paymentIntents.create',
        externalCall: 'stripe.paymentIntents.create',
      },
    }),
    fileText: fileWith(2, 'export async function charge(orderId: string, amount: number, customer: string) {'),
    identifiers: ['charge', 'stripe.paymentIntents.create', 'Date.now()', '`order-${orderId}-${requestId}`'],
  },
  {
    name: 'toctou key python per-call idempotency key (stripe, uuid4)',
    candidate: cand({
      mode: 'toctou',
      file: 'billing/refund.py',
      language: 'python',
      variant: 'distributed',
      title: 'idempotency_key passed to stripe.Refund.create is built from uuid.uuid4() on every call',
      fn: 'refund',
      entity: 'stripe.Refund.create',
      evidence: [
        [6, 'key', 'idempotency_key = str(uuid.uuid4())'],
        [7, 'act', 'return stripe.Refund.create('],
        [9, 'key', 'idempotency_key=idempotency_key,'],
      ],
      facts: {
        pattern: 'nondeterministic-key',
        idempotencyKey: 'str(uuid.uuid4())',
        keyName: 'idempotency_key',
        actCall: 'stripe.Refund.create',
        externalCall: 'stripe.Refund.create',
      },
    }),
    fileText: fileWith(5, 'def refund(payment):'),
    identifiers: ['refund', 'stripe.Refund.create', 'uuid.uuid4()', 'idempotency_key=idempotency_key'],
  },
  {
    name: 'toctou ts prisma handle claim',
    candidate: cand({
      mode: 'toctou',
      file: 'src/users/handles.ts',
      language: 'typescript',
      variant: 'database',
      title: 'claimHandle looks the handle up with findFirst and then writes it onto the user',
      fn: 'claimHandle',
      entity: 'prisma.user',
      evidence: [
        [22, 'check', "const taken = await prisma.user.findFirst({ where: { handle }, select: { id: true } });"],
        [27, 'act', 'return prisma.user.update({'],
      ],
      facts: { table: 'users', model: 'User', keyColumns: 'handle', orm: 'prisma', existingIndex: 'non-unique index', testFramework: 'jest' },
    }),
    fileText: fileWith(16, 'export async function claimHandle(userId: string, rawHandle: string) {'),
    identifiers: ['claimHandle', 'prisma.user.findFirst', 'prisma.user.update', 'handle'],
  },
  {
    name: 'toctou python django coupon',
    candidate: cand({
      mode: 'toctou',
      file: 'coupons/services.py',
      language: 'python',
      variant: 'database',
      title: 'apply_coupon checks for a previous redemption with exists() and then creates one',
      fn: 'apply_coupon',
      entity: 'CouponRedemption',
      evidence: [
        [21, 'check', 'if CouponRedemption.objects.filter(coupon=coupon, customer=cart.customer).exists():'],
        [25, 'act', 'CouponRedemption.objects.create('],
      ],
      facts: { model: 'CouponRedemption', table: 'coupons_couponredemption', keyColumns: 'coupon_id, customer_id', orm: 'django', existingIndex: 'non-unique index' },
    }),
    fileText: fileWith(19, 'def apply_coupon(cart, code: str) -> Decimal:'),
    identifiers: ['apply_coupon', 'CouponRedemption', 'CouponRedemption.objects.create'],
  },
  {
    name: 'toctou go signup',
    candidate: cand({
      mode: 'toctou',
      file: 'internal/accounts/signup.go',
      language: 'go',
      variant: 'database',
      title: 'Signup checks the email with SELECT EXISTS, then inserts the user',
      fn: 'Signup',
      entity: 'users',
      evidence: [
        [20, 'check', 'err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, email).Scan(&exists)'],
        [27, 'act', '_, err = s.db.ExecContext(ctx, `INSERT INTO users (email, name) VALUES ($1, $2)`, email, name)'],
      ],
      facts: { table: 'users', keyColumns: 'email', orm: 'database/sql' },
    }),
    fileText: fileWith(18, 'func (s *Service) Signup(ctx context.Context, email, name string) error {'),
    identifiers: ['Signup', 'users', 's.db.ExecContext'],
  },
  {
    name: 'toctou ruby follow',
    candidate: cand({
      mode: 'toctou',
      file: 'app/services/follow_service.rb',
      language: 'ruby',
      variant: 'database',
      title: 'follow checks Follow.exists? then creates the follow',
      fn: 'FollowService#follow',
      entity: 'Follow',
      evidence: [
        [5, 'check', 'return if Follow.exists?(follower_id: follower.id, followee_id: followee.id)'],
        [6, 'act', 'Follow.create!(follower: follower, followee: followee)'],
      ],
      facts: { model: 'Follow', table: 'follows', keyColumns: 'follower_id, followee_id', orm: 'activerecord' },
    }),
    fileText: fileWith(4, '  def follow(follower, followee)'),
    identifiers: ['follow', 'Follow.exists?', 'Follow.create!'],
  },

  // ------------------------------------------------------------------ lost_update
  {
    name: 'lost_update go reaction counter',
    candidate: cand({
      mode: 'lost_update',
      file: 'internal/posts/reactions.go',
      language: 'go',
      variant: 'database',
      title: 'AddReaction reads posts.reaction_count, increments it in Go and writes the new number back',
      fn: 'AddReaction',
      entity: 'posts',
      evidence: [
        [18, 'read', '`SELECT reaction_count FROM posts WHERE id = $1`, postID).Scan(&count); err != nil {'],
        [25, 'compute', 'count++'],
        [27, 'write', '`UPDATE posts SET reaction_count = $1 WHERE id = $2`, count, postID); err != nil {'],
      ],
      facts: { table: 'posts', column: 'reaction_count', orm: 'database/sql', inTransaction: 'no' },
    }),
    fileText: fileWith(10, 'func (s *Store) AddReaction(ctx context.Context, postID, userID int64, kind string) (int, error) {'),
    identifiers: ['AddReaction', 'reaction_count', 'posts'],
  },
  {
    name: 'lost_update js sequelize tickets',
    candidate: cand({
      mode: 'lost_update',
      file: 'services/tickets.js',
      language: 'javascript',
      variant: 'database',
      title: 'purchaseTickets reads seatsSold, adds the quantity in JS and saves it back',
      fn: 'purchaseTickets',
      entity: 'Event',
      evidence: [
        [14, 'read', 'const event = await Event.findByPk(eventId, { transaction: t });'],
        [22, 'compute', 'event.seatsSold += quantity;'],
        [23, 'write', 'await event.save({ transaction: t });'],
      ],
      facts: { model: 'Event', table: 'events', column: 'seatsSold', orm: 'sequelize', guard: 'seatsSold + quantity <= capacity', inTransaction: 'yes' },
    }),
    fileText: ['const { sequelize, Event, Ticket } = require("../models");', ...fileWith(12, 'async function purchaseTickets(eventId, userId, quantity) {').slice(1)],
    identifiers: ['purchaseTickets', 'Event.findByPk', 'seatsSold', 'quantity'],
  },
  {
    name: 'lost_update ts prisma wallet',
    candidate: cand({
      mode: 'lost_update',
      file: 'src/wallet/credit.ts',
      language: 'typescript',
      variant: 'database',
      title: 'creditWallet reads balanceCents and writes balance + amount',
      fn: 'creditWallet',
      entity: 'prisma.wallet',
      evidence: [
        [8, 'read', 'const wallet = await prisma.wallet.findUniqueOrThrow({ where: { id: walletId } });'],
        [9, 'write', 'await prisma.wallet.update({ where: { id: walletId }, data: { balanceCents: wallet.balanceCents + amountCents } });'],
      ],
      facts: { model: 'Wallet', column: 'balanceCents', orm: 'prisma', delta: 'amountCents' },
    }),
    identifiers: ['creditWallet', 'prisma.wallet.findUniqueOrThrow', 'balance_cents'],
  },
  {
    name: 'lost_update python django stock',
    candidate: cand({
      mode: 'lost_update',
      file: 'inventory/services.py',
      language: 'python',
      variant: 'database',
      title: 'restock loads the product, adds quantity in Python and saves it',
      fn: 'restock',
      entity: 'Product',
      evidence: [
        [12, 'read', 'product = Product.objects.get(pk=product_id)'],
        [13, 'compute', 'product.stock += quantity'],
        [14, 'write', 'product.save(update_fields=["stock"])'],
      ],
      facts: { model: 'Product', column: 'stock', orm: 'django' },
    }),
    fileText: fileWith(11, 'def restock(product_id, quantity):'),
    identifiers: ['restock', 'Product.objects.get', 'stock'],
  },
  {
    name: 'lost_update ruby points',
    candidate: cand({
      mode: 'lost_update',
      file: 'app/models/member.rb',
      language: 'ruby',
      variant: 'database',
      title: 'award_points reads points and saves points + amount',
      fn: 'Member#award_points',
      entity: 'Member',
      evidence: [
        [8, 'read', 'member = Member.find(member_id)'],
        [9, 'write', 'member.update!(points: member.points + amount)'],
      ],
      facts: { model: 'Member', column: 'points', orm: 'activerecord', delta: 'amount' },
    }),
    identifiers: ['award_points', 'Member.find', 'points'],
  },

  // ------------------------------------------------------------------ write_skew
  {
    name: 'write_skew ts knex leave approval',
    candidate: cand({
      mode: 'write_skew',
      file: 'src/leave/approvals.ts',
      language: 'typescript',
      variant: 'database',
      title: 'approveLeave counts already-approved overlapping leave for the team, then approves this request',
      fn: 'approveLeave',
      entity: 'leave_requests',
      evidence: [
        [13, 'check', "const [{ overlapping }] = await trx('leave_requests')"],
        [23, 'write', "await trx('leave_requests')"],
      ],
      facts: { table: 'leave_requests', orm: 'knex', invariant: 'at least min_on_duty people of the team on duty', parentTable: 'teams', parentKey: 'team_id' },
    }),
    fileText: fileWith(5, 'export async function approveLeave(requestId: string, managerId: string) {'),
    identifiers: ['approveLeave', 'leave_requests', 'teams', 'min_on_duty'],
  },
  {
    name: 'write_skew ruby pickup location',
    candidate: cand({
      mode: 'write_skew',
      file: 'app/controllers/pickup_locations_controller.rb',
      language: 'ruby',
      variant: 'database',
      title: 'Deactivating a pickup location checks that another active one exists, then deactivates this one',
      fn: 'PickupLocationsController#deactivate',
      entity: 'PickupLocation',
      evidence: [
        [16, 'check', 'next false if current_store.pickup_locations.active.count <= 1'],
        [18, 'write', 'location.update!(active: false, deactivated_at: Time.current, deactivated_by: current_user)'],
      ],
      facts: { model: 'PickupLocation', table: 'pickup_locations', orm: 'activerecord', parentTable: 'stores', parentKey: 'store_id', invariant: 'a store keeps at least one active pickup location' },
    }),
    identifiers: ['deactivate', 'pickup_locations', 'stores'],
  },
  {
    name: 'write_skew python on-call',
    candidate: cand({
      mode: 'write_skew',
      file: 'oncall/services.py',
      language: 'python',
      variant: 'database',
      title: 'go_off_call counts on-call doctors of the shift, then takes this doctor off call',
      fn: 'go_off_call',
      entity: 'Assignment',
      evidence: [
        [9, 'check', 'if Assignment.objects.filter(shift=shift, on_call=True).count() < 2:'],
        [11, 'write', 'Assignment.objects.filter(pk=assignment_id).update(on_call=False)'],
      ],
      facts: { model: 'Assignment', orm: 'django', parentTable: 'shifts', parentKey: 'shift_id' },
    }),
    fileText: fileWith(6, 'def go_off_call(assignment_id, shift):'),
    identifiers: ['go_off_call', 'Assignment', 'shift'],
  },

  // ------------------------------------------------------------------ deadlock
  {
    name: 'deadlock ts knex row locks in input order',
    candidate: cand({
      mode: 'deadlock',
      file: 'src/catalog/prices.ts',
      language: 'typescript',
      variant: 'database',
      title: 'applyPriceChanges row-locks products one by one in the order the changes arrive',
      fn: 'applyPriceChanges',
      entity: 'products',
      evidence: [
        [12, 'loop', 'for (const change of changes) {'],
        [13, 'lock-a', "const product = await trx('products').where({ sku: change.sku }).forUpdate().first('id', 'price_cents');"],
        [17, 'lock-b', "await trx('products')"],
      ],
      facts: { table: 'products', orm: 'knex', lockKind: 'row', sortKey: 'sku', collection: 'changes', otherFunction: 'syncSupplierFeed', otherFile: 'src/jobs/supplierFeed.ts' },
    }),
    fileText: fileWith(9, "export async function applyPriceChanges(changes: PriceChange[], source: 'feed' | 'admin', actorId?: string) {"),
    identifiers: ['applyPriceChanges', 'products', 'sku', 'changes'],
  },
  {
    name: 'deadlock go mutex order',
    candidate: cand({
      mode: 'deadlock',
      file: 'internal/pubsub/hub.go',
      language: 'go',
      variant: 'async',
      title: 'Session.Subscribe holds the session mutex while taking the hub mutex; Hub.Broadcast does the reverse',
      fn: 'Session.Subscribe',
      entity: 'Hub/Session mutexes',
      evidence: [
        [27, 'lock-a', 's.mu.Lock()'],
        [30, 'lock-b', 's.hub.mu.Lock()'],
      ],
      facts: { lockA: 's.mu', lockB: 's.hub.mu', otherFunction: 'Hub.Broadcast', otherLine: '36', lockKind: 'mutex' },
    }),
    fileText: fileWith(26, 'func (s *Session) Subscribe(topic string) {'),
    identifiers: ['Subscribe', 's.mu', 's.hub.mu', 'Hub.Broadcast'],
  },
  {
    name: 'deadlock python transfer',
    candidate: cand({
      mode: 'deadlock',
      file: 'bank/transfers.py',
      language: 'python',
      variant: 'database',
      title: 'transfer locks the source account, then the destination account',
      fn: 'transfer',
      entity: 'accounts',
      evidence: [
        [10, 'lock-a', 'source = Account.objects.select_for_update().get(pk=from_id)'],
        [11, 'lock-b', 'dest = Account.objects.select_for_update().get(pk=to_id)'],
      ],
      facts: { table: 'accounts', model: 'Account', orm: 'django', lockA: 'accounts row from_id', lockB: 'accounts row to_id', otherFunction: 'transfer (reverse direction)' },
    }),
    fileText: fileWith(8, 'def transfer(from_id, to_id, amount):'),
    identifiers: ['transfer', 'from_id', 'to_id'],
  },

  // ------------------------------------------------------------------ async_ordering
  {
    name: 'async_ordering ts floating save + reply',
    candidate: cand({
      mode: 'async_ordering',
      file: 'src/routes/feedback.ts',
      language: 'typescript',
      variant: 'async',
      title: 'POST /v1/feedback calls repo.save(feedback) without awaiting it and replies 201 with feedback.id',
      fn: 'postFeedback',
      entity: 'feedback',
      evidence: [
        [39, 'start', 'repo.save(feedback);'],
        [41, 'act', 'return reply.code(201).send({ id: feedback.id });'],
      ],
      facts: { route: 'POST /v1/feedback', unawaitedCall: 'repo.save', orm: 'typeorm' },
    }),
    identifiers: ['repo.save', 'reply.code', 'feedback'],
  },
  {
    name: 'async_ordering python set iterated across await',
    candidate: cand({
      mode: 'async_ordering',
      file: 'app/chat/broadcaster.py',
      language: 'python',
      variant: 'async',
      title: "RoomBroadcaster.broadcast iterates the room's set of sockets and awaits each send",
      fn: 'RoomBroadcaster.broadcast',
      entity: 'self._rooms',
      evidence: [
        [19, 'state', 'for ws in self._rooms.get(room, set()):'],
        [20, 'start', 'await ws.send_json(message)'],
      ],
      facts: { state: 'self._rooms[room]', awaitCall: 'ws.send_json' },
    }),
    fileText: fileWith(18, '    async def broadcast(self, room: str, message: dict) -> None:'),
    identifiers: ['broadcast', 'self._rooms', 'ws.send_json'],
  },
  {
    name: 'async_ordering js forEach async',
    candidate: cand({
      mode: 'async_ordering',
      file: 'src/jobs/notify.js',
      language: 'javascript',
      variant: 'async',
      title: 'notifyAll passes an async callback to forEach and returns before any email is sent',
      fn: 'notifyAll',
      entity: 'subscribers',
      evidence: [
        [4, 'start', 'subscribers.forEach(async (s) => { await mailer.send(s.email, digest); });'],
        [5, 'act', "return { status: 'sent' };"],
      ],
    }),
    identifiers: ['notifyAll', 'forEach', 'mailer.send'],
  },

  // ------------------------------------------------------------------ eventual_consistency
  {
    name: 'eventual_consistency python replica router',
    candidate: cand({
      mode: 'eventual_consistency',
      file: 'orders/views.py',
      language: 'python',
      variant: 'distributed',
      title: 'cancel_order updates the status, then re-reads the order (now routed to the replica) to decide on the refund',
      fn: 'cancel_order',
      entity: 'Order',
      evidence: [
        [23, 'write', 'Order.objects.filter(pk=order.pk, status__in=CANCELLABLE_STATUSES).update('],
        [26, 'stale-read', 'order = Order.objects.get(pk=order.pk)'],
        [31, 'act', 'refund_order(order)'],
      ],
      facts: { model: 'Order', orm: 'django', staleSource: 'replica', replica: 'PrimaryReplicaRouter' },
    }),
    fileText: fileWith(21, 'def cancel_order(request, order_id):'),
    identifiers: ['cancel_order', 'Order.objects.get', 'refund_order', 'PrimaryReplicaRouter'],
  },
  {
    name: 'eventual_consistency ts redis cache',
    candidate: cand({
      mode: 'eventual_consistency',
      file: 'src/accounts/service.ts',
      language: 'typescript',
      variant: 'distributed',
      title: 'changeEmail updates the database, then reloads the account through the Redis-cached getAccount()',
      fn: 'changeEmail',
      entity: 'account',
      evidence: [
        [18, 'write', 'await prisma.account.update({'],
        [23, 'stale-read', 'const account = await getAccount(id);'],
        [24, 'act', 'await mailer.sendVerification(account.email, {'],
      ],
      facts: { model: 'Account', orm: 'prisma', cacheKey: 'account:{id}', cacheTtl: '10 minutes' },
    }),
    fileText: fileWith(17, 'export async function changeEmail(id: string, newEmail: string): Promise<void> {'),
    identifiers: ['changeEmail', 'getAccount', 'mailer.sendVerification', 'account:{id}'],
  },

  // ------------------------------------------------------------------ phantom_read
  {
    name: 'phantom_read go overlap',
    candidate: cand({
      mode: 'phantom_read',
      file: 'internal/rentals/reserve.go',
      language: 'go',
      variant: 'database',
      title: 'Reserve checks that no reservation overlaps the requested window, then inserts one, at READ COMMITTED',
      fn: 'Reserve',
      entity: 'reservations',
      evidence: [
        [38, 'range-check', "`SELECT EXISTS (SELECT 1 FROM reservations WHERE vehicle_id = $1 AND status <> 'cancelled' AND pickup_at < $3 AND return_at > $2)`,"],
        [47, 'insert', 'INSERT INTO reservations (vehicle_id, customer_id, pickup_at, return_at, status)'],
      ],
      facts: { table: 'reservations', scopeColumn: 'vehicle_id', rangeColumns: 'pickup_at, return_at', orm: 'database/sql' },
    }),
    fileText: fileWith(26, 'func (s *Service) Reserve(ctx context.Context, req ReserveRequest) (*Reservation, error) {'),
    identifiers: ['Reserve', 'reservations', 'vehicle_id', 'pickup_at'],
  },
  {
    name: 'phantom_read ts prisma max+1',
    candidate: cand({
      mode: 'phantom_read',
      file: 'src/playlists/items.ts',
      language: 'typescript',
      variant: 'database',
      title: 'addTrack takes _max(position) over the playlist\'s items and creates the new item at max + 1',
      fn: 'addTrack',
      entity: 'prisma.playlistItem',
      evidence: [
        [16, 'range-check', 'const last = await prisma.playlistItem.aggregate({'],
        [22, 'insert', 'return prisma.playlistItem.create({'],
      ],
      facts: { model: 'PlaylistItem', table: 'playlist_items', orm: 'prisma', scopeColumn: 'playlistId', column: 'position' },
    }),
    fileText: fileWith(13, 'export async function addTrack(playlistId: string, trackId: string, userId: string) {'),
    identifiers: ['addTrack', 'prisma.playlistItem.aggregate', 'position', 'playlist_id'],
  },
  {
    name: 'phantom_read python booking overlap',
    candidate: cand({
      mode: 'phantom_read',
      file: 'rooms/booking.py',
      language: 'python',
      variant: 'database',
      title: 'book_room checks no booking overlaps, then creates one',
      fn: 'book_room',
      entity: 'Booking',
      evidence: [
        [14, 'range-check', 'if Booking.objects.filter(room=room, starts_at__lt=ends_at, ends_at__gt=starts_at).exists():'],
        [16, 'insert', 'return Booking.objects.create(room=room, starts_at=starts_at, ends_at=ends_at)'],
      ],
      facts: { model: 'Booking', table: 'rooms_booking', orm: 'django', scopeColumn: 'room_id', rangeColumns: 'starts_at, ends_at' },
    }),
    fileText: fileWith(12, 'def book_room(room, starts_at, ends_at):'),
    identifiers: ['book_room', 'Booking', 'room_id', 'starts_at'],
  },

  // ------------------------------------------------------------------ message_ordering
  {
    name: 'message_ordering ts bullmq sms',
    candidate: cand({
      mode: 'message_ordering',
      file: 'src/workers/reminderWorker.ts',
      language: 'typescript',
      variant: 'queue',
      title: 'Reminder worker sends the SMS, then records it; jobs retry up to 5 times and carry no jobId',
      fn: 'processReminder',
      entity: 'appointment-reminders',
      evidence: [
        [21, 'side-effect', 'await sms.send({ to: appt.patient.phone, body: renderReminder(appt) });'],
        [22, 'write', 'await prisma.appointment.update({'],
      ],
      facts: { queue: 'appointment-reminders', consumer: 'reminderWorker', broker: 'bullmq', orm: 'prisma', model: 'Appointment', retries: 'attempts: 5', sideEffectCall: 'sms.send' },
    }),
    identifiers: ['reminderWorker', 'sms.send', 'appointment-reminders', 'prisma.appointment.update'],
  },
  {
    name: 'message_ordering ruby sidekiq status',
    candidate: cand({
      mode: 'message_ordering',
      file: 'app/jobs/identity_webhook_job.rb',
      language: 'ruby',
      variant: 'queue',
      title: "IdentityWebhookJob copies each verification event's status onto the seller, in whatever order the jobs run",
      fn: 'IdentityWebhookJob#perform',
      entity: 'Seller',
      evidence: [
        [14, 'status-write', 'seller.update!(kyc_status: :pending, kyc_last_error: session["last_error"])'],
        [16, 'status-write', 'seller.update!(kyc_status: :verified, kyc_verified_at: Time.current, payouts_enabled: true)'],
      ],
      facts: { model: 'Seller', table: 'sellers', statusColumn: 'kyc_status', broker: 'sidekiq', consumer: 'IdentityWebhookJob', orm: 'activerecord' },
    }),
    fileText: fileWith(5, '  def perform(webhook_event_id)'),
    identifiers: ['IdentityWebhookJob', 'kyc_status', 'sellers'],
  },
  {
    name: 'message_ordering python celery email',
    candidate: cand({
      mode: 'message_ordering',
      file: 'billing/tasks.py',
      language: 'python',
      variant: 'queue',
      title: 'send_invoice_email emails the invoice, then marks it sent; the task retries on failure',
      fn: 'send_invoice_email',
      entity: 'Invoice',
      evidence: [
        [12, 'side-effect', 'mailer.send_invoice(invoice.customer.email, invoice)'],
        [13, 'write', 'Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())'],
      ],
      facts: { model: 'Invoice', orm: 'django', broker: 'celery', retries: 'autoretry_for=(Exception,), max_retries=5', messageId: 'self.request.id' },
    }),
    fileText: fileWith(9, 'def send_invoice_email(self, invoice_id):'),
    identifiers: ['send_invoice_email', 'mailer.send_invoice', 'celery'],
  },
];
