/* test_dataset_samples.c - the bundled samples load cleanly in strict mode and are
 * what datasets/samples/SOURCE.md says: 1,000 sentences, 300 sentence pairs, seven
 * labelled photographs (two of them greyscale) that decode to RGB. */
#include <string.h>
#include "datasets/dataset.h"
#include "datasets/image.h"
#include "base/util.h"
#include "tests/check.h"

int main(void) {
    av_dataset_t ds;
    CHECK_MSG(av_dataset_load("datasets/samples/sentences.txt", NULL, &ds) == AV_OK, "%s", av_last_error());
    CHECK(ds.count == 1000 && ds.skipped == 0 && ds.kind == AV_DATA_TEXT);
    int prose = 1;
    for (int64_t i = 0; i < ds.count; i++) {
        size_t n = strlen(ds.items[i].text);
        prose &= n >= 20 && n < 400 && ds.items[i].line == i + 1 && strchr(".!?", ds.items[i].text[n - 1]) != NULL;
    }
    CHECK(prose);
    av_dataset_free(&ds);

    CHECK_MSG(av_dataset_load("datasets/samples/sentence_pairs.jsonl", NULL, &ds) == AV_OK, "%s", av_last_error());
    CHECK(ds.count == 300 && ds.skipped == 0);
    int pairs = 1;
    for (int64_t i = 0; i < ds.count; i++) pairs &= ds.items[i].text_b != NULL && ds.items[i].text_b[0] != 0;
    CHECK(pairs);
    av_dataset_free(&ds);

    CHECK_MSG(av_dataset_load("datasets/samples/photos", NULL, &ds) == AV_OK, "%s", av_last_error());
    CHECK(ds.count == 7 && ds.kind == AV_DATA_IMAGES && ds.skipped == 0);
    static const char *labels[] = {"animal", "food", "space", "space", "space", "street", "texture"};
    for (int64_t i = 0; i < ds.count && ds.count == 7; i++) {
        CHECK(ds.items[i].label && !strcmp(ds.items[i].label, labels[i]));
        av_image img;
        CHECK_MSG(av_image_load(ds.items[i].text, &img) == AV_OK, "%s", av_last_error());
        CHECK(img.width <= 256 && img.height <= 256 && (img.width == 256 || img.height == 256));
        /* greyscale photos come out as RGB with equal channels */
        if (!strcmp(labels[i], "street") || !strcmp(labels[i], "texture"))
            CHECK(img.rgb[0] == img.rgb[1] && img.rgb[1] == img.rgb[2]);
        av_image_free(&img);
    }
    av_dataset_free(&ds);
    return av_check_summary("test_dataset_samples");
}
