/*
 * Reference PF_KEY messages built with the system's <linux/pfkeyv2.h>
 * structures, printed as "name hexbytes" lines. The Rust test
 * pfkey/tests/golden_linux.rs compiles this file with the system C compiler,
 * runs it, and checks the crate's encoder and decoder against every line.
 * Also prints "size <struct> <sizeof>" for each structure.
 */
#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static unsigned char buf[4096];
static size_t len;

static void *put(size_t n)
{
	void *p = buf + len;
	memset(p, 0, (n + 7) & ~7u);
	len += (n + 7) & ~7u;
	return p;
}

static void begin(unsigned type, unsigned satype, unsigned seq)
{
	struct sadb_msg *m;
	len = 0;
	m = put(sizeof(*m));
	m->sadb_msg_version = PF_KEY_V2;
	m->sadb_msg_type = type;
	m->sadb_msg_satype = satype;
	m->sadb_msg_seq = seq;
	m->sadb_msg_pid = 1234;
}

static void finish(const char *name)
{
	((struct sadb_msg *)buf)->sadb_msg_len = len / 8;
	printf("%s ", name);
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

static void ext_len(void *start)
{
	struct sadb_ext *e = start;
	e->sadb_ext_len = ((unsigned char *)buf + len - (unsigned char *)start) / 8;
}

static void sa(unsigned spi, unsigned auth, unsigned enc)
{
	struct sadb_sa *s = put(sizeof(*s));
	s->sadb_sa_exttype = SADB_EXT_SA;
	s->sadb_sa_spi = htonl(spi);
	s->sadb_sa_replay = 32;
	s->sadb_sa_state = SADB_SASTATE_MATURE;
	s->sadb_sa_auth = auth;
	s->sadb_sa_encrypt = enc;
	ext_len(s);
}

static void sa2(unsigned mode, unsigned reqid)
{
	struct sadb_x_sa2 *s = put(sizeof(*s));
	s->sadb_x_sa2_exttype = SADB_X_EXT_SA2;
	s->sadb_x_sa2_mode = mode;
	s->sadb_x_sa2_reqid = reqid;
	ext_len(s);
}

static void lifetime(unsigned type, unsigned long long bytes, unsigned long long add)
{
	struct sadb_lifetime *l = put(sizeof(*l));
	l->sadb_lifetime_exttype = type;
	l->sadb_lifetime_bytes = bytes;
	l->sadb_lifetime_addtime = add;
	ext_len(l);
}

static void addr4(unsigned type, const char *ip, unsigned prefix, unsigned port)
{
	struct sadb_address *a = put(sizeof(*a));
	struct sockaddr_in *sin = put(sizeof(*sin));
	a->sadb_address_exttype = type;
	a->sadb_address_proto = 255;
	a->sadb_address_prefixlen = prefix;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	ext_len(a);
}

static void addr6(unsigned type, const char *ip, unsigned prefix)
{
	struct sadb_address *a = put(sizeof(*a));
	struct sockaddr_in6 *sin6 = put(sizeof(*sin6));
	a->sadb_address_exttype = type;
	a->sadb_address_proto = 255;
	a->sadb_address_prefixlen = prefix;
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	ext_len(a);
}

static void key(unsigned type, unsigned bits, unsigned char seed)
{
	struct sadb_key *k = put(sizeof(*k));
	unsigned char *d = put(bits / 8);
	k->sadb_key_exttype = type;
	k->sadb_key_bits = bits;
	for (unsigned i = 0; i < bits / 8; i++)
		d[i] = seed + i;
	ext_len(k);
}

int main(void)
{
	printf("size sadb_msg %zu\n", sizeof(struct sadb_msg));
	printf("size sadb_sa %zu\n", sizeof(struct sadb_sa));
	printf("size sadb_lifetime %zu\n", sizeof(struct sadb_lifetime));
	printf("size sadb_address %zu\n", sizeof(struct sadb_address));
	printf("size sadb_key %zu\n", sizeof(struct sadb_key));
	printf("size sadb_ident %zu\n", sizeof(struct sadb_ident));
	printf("size sadb_sens %zu\n", sizeof(struct sadb_sens));
	printf("size sadb_prop %zu\n", sizeof(struct sadb_prop));
	printf("size sadb_comb %zu\n", sizeof(struct sadb_comb));
	printf("size sadb_supported %zu\n", sizeof(struct sadb_supported));
	printf("size sadb_alg %zu\n", sizeof(struct sadb_alg));
	printf("size sadb_spirange %zu\n", sizeof(struct sadb_spirange));
	printf("size sadb_x_kmprivate %zu\n", sizeof(struct sadb_x_kmprivate));
	printf("size sadb_x_sa2 %zu\n", sizeof(struct sadb_x_sa2));
	printf("size sadb_x_policy %zu\n", sizeof(struct sadb_x_policy));
	printf("size sadb_x_ipsecrequest %zu\n", sizeof(struct sadb_x_ipsecrequest));
	printf("size sadb_x_nat_t_type %zu\n", sizeof(struct sadb_x_nat_t_type));
	printf("size sadb_x_nat_t_port %zu\n", sizeof(struct sadb_x_nat_t_port));
	printf("size sadb_x_sec_ctx %zu\n", sizeof(struct sadb_x_sec_ctx));
	printf("size sadb_x_kmaddress %zu\n", sizeof(struct sadb_x_kmaddress));
	printf("size sadb_x_filter %zu\n", sizeof(struct sadb_x_filter));

	/* ADD: ESP transport, AES-CBC-128 + HMAC-SHA2-512, lifetimes. */
	begin(SADB_ADD, SADB_SATYPE_ESP, 5);
	sa(0x12345678, SADB_X_AALG_SHA2_512HMAC, SADB_X_EALG_AESCBC);
	sa2(IPSEC_MODE_TRANSPORT, 7);
	lifetime(SADB_EXT_LIFETIME_HARD, 1000000, 100);
	lifetime(SADB_EXT_LIFETIME_SOFT, 800000, 80);
	addr4(SADB_EXT_ADDRESS_SRC, "192.0.2.1", 32, 0);
	addr4(SADB_EXT_ADDRESS_DST, "192.0.2.2", 32, 0);
	key(SADB_EXT_KEY_AUTH, 512, 0x80);
	key(SADB_EXT_KEY_ENCRYPT, 128, 0x10);
	finish("add_esp_aes_sha512");

	/* GETSPI over IPv6 with a range and tunnel mode. */
	begin(SADB_GETSPI, SADB_SATYPE_ESP, 6);
	sa2(IPSEC_MODE_TUNNEL, 9);
	addr6(SADB_EXT_ADDRESS_SRC, "2001:db8::1", 128);
	addr6(SADB_EXT_ADDRESS_DST, "2001:db8::2", 128);
	{
		struct sadb_spirange *r = put(sizeof(*r));
		r->sadb_spirange_exttype = SADB_EXT_SPIRANGE;
		r->sadb_spirange_min = 0xc0de0000;
		r->sadb_spirange_max = 0xc0de00ff;
		ext_len(r);
	}
	finish("getspi_v6");

	/* SPDADD: tunnel policy with one ESP request and its endpoints. */
	begin(SADB_X_SPDADD, SADB_SATYPE_UNSPEC, 7);
	addr4(SADB_EXT_ADDRESS_SRC, "192.0.2.0", 24, 0);
	addr4(SADB_EXT_ADDRESS_DST, "198.51.100.0", 24, 0);
	{
		struct sadb_x_policy *p = put(sizeof(*p));
		struct sadb_x_ipsecrequest *q = put(sizeof(*q));
		struct sockaddr_in *s = put(sizeof(*s));
		struct sockaddr_in *d = put(sizeof(*d));
		p->sadb_x_policy_exttype = SADB_X_EXT_POLICY;
		p->sadb_x_policy_type = IPSEC_POLICY_IPSEC;
		p->sadb_x_policy_dir = IPSEC_DIR_OUTBOUND;
		p->sadb_x_policy_priority = 7;
		q->sadb_x_ipsecrequest_len = sizeof(*q) + 2 * sizeof(*s);
		q->sadb_x_ipsecrequest_proto = IPPROTO_ESP;
		q->sadb_x_ipsecrequest_mode = IPSEC_MODE_TUNNEL;
		q->sadb_x_ipsecrequest_level = IPSEC_LEVEL_UNIQUE;
		q->sadb_x_ipsecrequest_reqid = 201;
		s->sin_family = AF_INET;
		inet_pton(AF_INET, "203.0.113.1", &s->sin_addr);
		d->sin_family = AF_INET;
		inet_pton(AF_INET, "203.0.113.2", &d->sin_addr);
		ext_len(p);
	}
	finish("spdadd_tunnel");

	/* ADD with NAT-T: encapsulation type and ports, original address. */
	begin(SADB_ADD, SADB_SATYPE_ESP, 8);
	sa(0xdeadbeef, SADB_AALG_SHA1HMAC, SADB_X_EALG_AESCBC);
	addr4(SADB_EXT_ADDRESS_SRC, "192.0.2.1", 32, 4500);
	addr4(SADB_EXT_ADDRESS_DST, "198.51.100.7", 32, 4500);
	{
		struct sadb_x_nat_t_type *t = put(sizeof(*t));
		struct sadb_x_nat_t_port *sp, *dp;
		t->sadb_x_nat_t_type_exttype = SADB_X_EXT_NAT_T_TYPE;
		t->sadb_x_nat_t_type_type = 2; /* UDP_ENCAP_ESPINUDP */
		ext_len(t);
		sp = put(sizeof(*sp));
		sp->sadb_x_nat_t_port_exttype = SADB_X_EXT_NAT_T_SPORT;
		sp->sadb_x_nat_t_port_port = htons(4500);
		ext_len(sp);
		dp = put(sizeof(*dp));
		dp->sadb_x_nat_t_port_exttype = SADB_X_EXT_NAT_T_DPORT;
		dp->sadb_x_nat_t_port_port = htons(4500);
		ext_len(dp);
	}
	addr4(SADB_X_EXT_NAT_T_OA, "203.0.113.9", 32, 0);
	finish("add_natt");

	/* DUMP with a filter, and an SPDADD carrying a security context. */
	begin(SADB_DUMP, SADB_SATYPE_ESP, 9);
	{
		struct sadb_x_filter *f = put(sizeof(*f));
		f->sadb_x_filter_exttype = SADB_X_EXT_FILTER;
		inet_pton(AF_INET, "192.0.2.0", &f->sadb_x_filter_saddr);
		inet_pton(AF_INET, "198.51.100.0", &f->sadb_x_filter_daddr);
		f->sadb_x_filter_family = AF_INET;
		f->sadb_x_filter_splen = 24;
		f->sadb_x_filter_dplen = 25;
		ext_len(f);
	}
	finish("dump_filter");

	begin(SADB_X_MIGRATE, SADB_SATYPE_UNSPEC, 10);
	{
		struct sadb_x_sec_ctx *c = put(sizeof(*c) + 13);
		c->sadb_x_sec_exttype = SADB_X_EXT_SEC_CTX;
		c->sadb_x_ctx_alg = 1;
		c->sadb_x_ctx_doi = 1;
		c->sadb_x_ctx_len = 13;
		memcpy(c + 1, "system_u:ipse", 13);
		ext_len(c);
	}
	{
		struct sadb_x_kmaddress *k = put(sizeof(*k));
		struct sockaddr_in *a = put(sizeof(*a));
		struct sockaddr_in *b = put(sizeof(*b));
		k->sadb_x_kmaddress_exttype = SADB_X_EXT_KMADDRESS;
		a->sin_family = AF_INET;
		a->sin_port = htons(500);
		inet_pton(AF_INET, "192.0.2.1", &a->sin_addr);
		b->sin_family = AF_INET;
		b->sin_port = htons(4500);
		inet_pton(AF_INET, "192.0.2.2", &b->sin_addr);
		ext_len(k);
	}
	finish("migrate_secctx_kmaddress");
	return 0;
}
