#include <QtTest>
class TstTokenizer : public QObject { Q_OBJECT private slots: void dummy() {} };
QTEST_GUILESS_MAIN(TstTokenizer)
#include "tst_tokenizer.moc"
