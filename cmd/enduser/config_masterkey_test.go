package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestMasterKeyList(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	c, err := loadConfig(envOf(map[string]string{"ENDUSER_MASTER_KEY": k2 + ", " + k1}))
	if err != nil || !bytes.Equal(c.MasterKey, bytes.Repeat([]byte{2}, 32)) || len(c.OlderMasterKeys) != 1 ||
		!bytes.Equal(c.OlderMasterKeys[0], bytes.Repeat([]byte{1}, 32)) {
		t.Fatalf("a list of two: %v, %d older keys", err, len(c.OlderMasterKeys))
	}
	c, err = loadConfig(envOf(map[string]string{"ENDUSER_MASTER_KEY": k1}))
	if err != nil || len(c.MasterKey) != 32 || len(c.OlderMasterKeys) != 0 {
		t.Fatalf("one key: %v", err)
	}
	for name, v := range map[string]string{"a key twice": k1 + "," + k1, "an empty entry": k1 + ",", "a short second key": k1 + ",c2hvcnQ="} {
		if _, err := loadConfig(envOf(map[string]string{"ENDUSER_MASTER_KEY": v})); err == nil || !strings.Contains(err.Error(), "ENDUSER_MASTER_KEY") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
