/* SPDX-License-Identifier: MIT */
/* The MACs petrel gives network interfaces the user gave none (net.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "virtio/net.h"

/* FNV-1a, 32 bits, over s, continuing from h. */
static uint32_t net_fnv(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void net_mac_from_hash(uint32_t h, uint8_t mac[6])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

void virtio_net_config_mac(const struct net_config *n, uint8_t mac[6])
{
	char spec[2 * CONFIG_NET_ADDR_MAX + 48];

	if (n->kind == NET_TAP) {
		virtio_net_default_mac(n->tap, mac);
		return;
	}
	snprintf(spec, sizeof(spec), "%s=%s,remote=%s%s",
		 n->kind == NET_STREAM	? "stream"
		 : n->kind == NET_DGRAM ? "dgram"
		 : n->kind == NET_VDE	? "vde"
					: "passt",
		 n->addr, n->remote, n->listen ? ",listen" : "");
	/* Every member of a multicast hub has the same settings: one MAC per
	 * process there. */
	if (n->kind == NET_DGRAM && !n->remote[0])
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ",pid=%d",
			 (int)getpid());
	net_mac_from_hash(net_fnv(2166136261u, spec), mac);
}

static bool net_mac_taken(const struct vm_config *cfg, unsigned int i, const uint8_t mac[6],
			  const uint8_t (*picked)[6])
{
	for (unsigned int j = 0; j < cfg->nnets; j++)
		if (j != i && (j < i || cfg->net[j].mac_set) &&
		    !memcmp(j < i ? picked[j] : cfg->net[j].mac, mac, 6))
			return true;
	return false;
}

void virtio_net_pick_mac(const struct vm_config *cfg, unsigned int i, uint8_t mac[6])
{
	uint8_t picked[CONFIG_MAX_NETS][6];

	for (unsigned int j = 0; j <= i && j < CONFIG_MAX_NETS; j++) {
		const struct net_config *n = &cfg->net[j];

		if (n->mac_set) {
			memcpy(picked[j], n->mac, 6);
			continue;
		}
		virtio_net_config_mac(n, picked[j]);
		/* Another NIC has it: the next one up (the last byte, then the
		 * one before). */
		while (net_mac_taken(cfg, j, picked[j], (const uint8_t(*)[6])picked))
			if (++picked[j][5] == 0)
				picked[j][4]++;
	}
	memcpy(mac, picked[i < CONFIG_MAX_NETS ? i : 0], 6);
}

void virtio_net_default_mac(const char *tap, uint8_t mac[6])
{
	net_mac_from_hash(net_fnv(2166136261u, tap), mac);
}
